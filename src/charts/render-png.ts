/**
 * SVG → PNG with resvg (a prebuilt binding: no build step, no browser). Fonts come
 * from the bundled DejaVu files loaded by path, never from the system: charts look the same on a
 * laptop, in CI and in a slim container without fontconfig.
 */
import { createRequire } from "node:module";
import { Resvg } from "@resvg/resvg-js";

const require = createRequire(import.meta.url);

/** DejaVu Sans regular and bold, resolved from the dejavu-fonts-ttf package. */
export const CHART_FONT_FILES: readonly string[] = [
  require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf"),
  require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf"),
];

export const CHART_FONT_FAMILY = "DejaVu Sans";

export function svgToPng(svg: string, opts: { scale?: number } = {}): Buffer {
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: [...CHART_FONT_FILES], defaultFontFamily: CHART_FONT_FAMILY },
    background: "#ffffff",
    fitTo: opts.scale && opts.scale !== 1 ? { mode: "zoom", value: opts.scale } : { mode: "original" },
  });
  return resvg.render().asPng();
}
