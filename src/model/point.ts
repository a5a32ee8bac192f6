/** One bucket of a series. */
export interface Point {
  /** Bucket start, epoch ms. */
  t: number;
  /** null = missing data, or no usable value for this bucket (NULL, NaN, Infinity or non-numeric text). */
  v: number | null;
  /** Rows behind the bucket, when the source reports them (structured sources of means and ratios). */
  n?: number;
}
