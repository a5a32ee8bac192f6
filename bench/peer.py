"""The peer a team runs today: an Airflow-style job that re-reads the last day every run and flags
each series whose newest bucket falls outside a rolling interquartile fence (pandas).

    python3 bench/peer.py --url postgres://... --layout wide --tables scale_t0,scale_t1 --end-ms N
    python3 bench/peer.py --url postgres://... --layout long --tables long_t --end-ms N

Prints one JSON line: seconds spent in SQL (query and fetch) and in pandas, series judged, series flagged.
"""
import argparse
import json
import time

import pandas as pd
import psycopg2

WINDOW = 12  # buckets in the rolling window: one hour of 5-minute buckets
FENCE = 1.5  # Tukey's fence: Q1 - 1.5 IQR, Q3 + 1.5 IQR


def read(conn, layout, table, since):
    with conn.cursor() as cur:
        if layout == "wide":
            cur.execute(f'SELECT * FROM "{table}" WHERE ts >= to_timestamp(%s / 1000.0) ORDER BY ts', (since,))
            cols = [d[0] for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=cols)
            return frame.melt(id_vars=["ts", "region"], var_name="measure", value_name="v").assign(
                series=lambda f: table + ":" + f["measure"] + ":" + f["region"]
            )[["ts", "series", "v"]]
        cur.execute(f'SELECT ts, metric, host, v FROM "{table}" WHERE ts >= to_timestamp(%s / 1000.0) ORDER BY ts', (since,))
        frame = pd.DataFrame(cur.fetchall(), columns=["ts", "metric", "host", "v"])
        frame["series"] = frame["metric"] + ":" + frame["host"]
        return frame[["ts", "series", "v"]]


def judge(frame):
    frame = frame.sort_values(["series", "ts"])
    grouped = frame.groupby("series")["v"]
    q1 = grouped.transform(lambda s: s.rolling(WINDOW, min_periods=WINDOW).quantile(0.25).shift(1))
    q3 = grouped.transform(lambda s: s.rolling(WINDOW, min_periods=WINDOW).quantile(0.75).shift(1))
    iqr = q3 - q1
    outside = (frame["v"] < q1 - FENCE * iqr) | (frame["v"] > q3 + FENCE * iqr)
    newest = frame.assign(outside=outside).groupby("series").tail(1)
    return int(newest["series"].nunique()), int(newest["outside"].sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--layout", choices=["wide", "long"], required=True)
    ap.add_argument("--tables", required=True)
    ap.add_argument("--end-ms", type=float, required=True)
    args = ap.parse_args()
    since = args.end_ms - 86_400_000
    conn = psycopg2.connect(args.url)
    t0 = time.perf_counter()
    frames = [read(conn, args.layout, t, since) for t in args.tables.split(",")]
    t1 = time.perf_counter()
    frame = pd.concat(frames, ignore_index=True)
    frame["v"] = frame["v"].astype(float)
    series, flagged = judge(frame)
    t2 = time.perf_counter()
    conn.close()
    print(json.dumps({"sqlS": t1 - t0, "pandasS": t2 - t1, "series": series, "flagged": flagged}))


if __name__ == "__main__":
    main()
