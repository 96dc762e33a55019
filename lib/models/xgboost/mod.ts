/**
 * XGBoost through its C library: the model, library discovery and the GPU probe.
 *
 * @module
 */

export {
  type FeatureImportance,
  type ImportanceType,
  type ShapResult,
  type XGBoostFitOptions,
  XGBoostModel,
  type XGBoostOptions,
  type XGBoostParamValue,
} from "./model.ts";
export {
  libraryCandidates,
  openXGBoost,
  XGBOOST_INSTALL_HINT,
  XGBOOST_SYMBOLS,
  XGBoostError,
  type XGBoostLibrary,
  type XGBoostSymbols,
  xgboostVersion,
} from "./library.ts";
export {
  defaultThreads,
  ONE_THREAD_BELOW_ROWS,
  type ParamProbe,
  probeParams,
  unusedParams,
  usedParamNames,
} from "./params.ts";
export { boost, type Boosted, boostOffThread, type BoostSpec, quantileBins } from "./boost.ts";
export { chooseDevice, type DeviceChoice, type DeviceRequest, probeGpu } from "./device.ts";
