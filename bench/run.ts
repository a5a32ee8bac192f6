/** `npm run bench`: every benchmark, figures printed. */
import { benchDetectors } from "./detectors.js";
import { benchExperiments } from "./experiments.js";
import { benchTick } from "./tick.js";

await benchTick(1000);
await benchDetectors();
await benchExperiments();
