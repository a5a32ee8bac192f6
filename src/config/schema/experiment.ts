/** An A/B experiment: its assignments, guardrails and goals. */
import { z } from "zod";
import { channelList, columnZone, cron, isoTime, name, percentOrNumber, quoted } from "./fields.js";

const eventsSource = z
  .strictObject({
    table: z.string().min(1).describe("Table of per-unit events."),
    unit_column: z.string().min(1).describe("Column joining events to assignments (e.g. user_id)."),
    time_column: z.string().min(1).describe("Event time; only events at or after the unit's assignment count."),
    timezone: columnZone().optional(),
    value: z
      .string()
      .min(1)
      .describe('SQL expression per event, aggregated per unit, e.g. "skipped::int". Default "1" for count and ratio.')
      .optional(),
    where: z.string().describe("SQL filter on the events.").optional(),
  })
  .describe("Where the per-unit values of this guardrail come from.");

const guardrail = z
  .strictObject({
    name: name("guardrail"),
    description: z.string().describe("Human description.").optional(),
    events: eventsSource,
    aggregate: z
      .enum(["sum", "count", "mean", "any", "ratio"])
      .describe("How events roll up per unit: sum | count | mean | any (0/1) | ratio (numerator / denominator). Default mean.")
      .optional(),
    numerator: z.string().min(1).describe("For aggregate: ratio — SQL expression summed per unit on top.").optional(),
    denominator: z.string().min(1).describe("For aggregate: ratio — SQL expression summed per unit below.").optional(),
    bad_direction: z.enum(["increase", "decrease"]).describe("Which change of this metric is harm."),
    margin: percentOrNumber(
      'Non-inferiority margin relative to control: "2%" or 0.02. A change smaller than this is not harm. Default 0.',
    ).optional(),
    winsorize: z
      .union([z.number().gt(0).max(1), z.null()], {
        error: (iss) => `expected a quantile in (0, 1] such as 0.999, or null, got ${quoted(iss.input)}`,
      })
      .describe(
        "Cap per-unit values at this quantile before testing (e.g. 0.999); null = no capping. The quantile is taken over the units that have a value (for mean, units without events have none and stay out), and only values above it change. Not applied to the `any` aggregate (0/1 per unit). Default null.",
      )
      .optional(),
    winsorize_over: z
      .enum(["all", "nonzero"])
      .describe(
        "Which per-unit values the winsorize quantile is taken over: all (every unit with a value) or nonzero (as Statsig does: the quantile of the non-zero values, zeros stay zero). Use nonzero when most units have 0 (sum or count of a rare event), where the quantile over all would cap at or near 0. Only with winsorize. Default all.",
      )
      .optional(),
  })
  .describe("An experiment metric compared between variants.");

export const experiment = z
  .strictObject({
    name: name("experiment"),
    description: z.string().describe("Human description.").optional(),
    variants: z
      .record(z.string().min(1), z.number().min(0).max(1))
      .describe("Variant name -> expected share of units (summing to 1); checked for sample ratio mismatch."),
    control: z.string().min(1).describe("The variant the others are compared with; one of `variants`."),
    assignments: z
      .strictObject({
        table: z.string().min(1).describe("Table of unit -> variant assignments."),
        unit_column: z.string().min(1).describe("Unit id column (e.g. user_id)."),
        variant_column: z.string().min(1).describe("Column holding the variant name."),
        time_column: z.string().min(1).describe("When the unit was assigned."),
        timezone: columnZone().optional(),
        where: z.string().describe("SQL filter selecting this experiment's rows.").optional(),
      })
      .describe("Where assignments are read from."),
    guardrails: z.array(guardrail).describe("Metrics that must not get worse; harm raises an alert.").optional(),
    goals: z.array(guardrail).describe("Metrics the experiment hopes to move; reported, never alerted on.").optional(),
    alpha: z.number().gt(0).lt(1).describe("Significance level of the guardrail tests. Default 0.05.").optional(),
    srm_alpha: z.number().gt(0).lt(1).describe("Significance level of the sample ratio mismatch check. Default 0.001.").optional(),
    min_units: z.int().min(1).describe("Units per variant before anything is tested. Default 1000.").optional(),
    start: isoTime("Analyse only assignments from this time.").optional(),
    end: isoTime("Analyse only assignments before this time.").optional(),
    schedule: cron('When the experiment is analysed. Default "0 * * * *".').optional(),
    notify: channelList("Channels for this experiment's alerts. Default `defaults.notify`.").optional(),
  })
  .describe("An A/B experiment whose guardrails (and sample ratio) are watched.");
