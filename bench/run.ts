/** `npm run bench`: every benchmark, figures printed. */
import { benchDetectors } from "./detectors.js";
import { benchEngine } from "./engine.js";
import { benchExperiments } from "./experiments.js";
import { benchInstalled } from "./installed.js";
import { benchScale } from "./scale.js";
import { benchScaleLong } from "./scale-long.js";
import { benchTick } from "./tick.js";

await benchTick(1000);
await benchScale();
await benchScaleLong();
await benchInstalled();
await benchEngine();
await benchDetectors();
await benchExperiments();
