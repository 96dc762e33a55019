/**
 * candor's public API: every name a user of the library is meant to call, listed explicitly by concern. Everything
 * else (kernel patches, worker plumbing, loader internals, statistical helpers of one module) stays internal and may
 * change. Re-exports only: each symbol lives in its own module.
 *
 * @module
 */

// Errors
export {
  BackendUnavailableError,
  CandorError,
  clipEcho,
  ConfigError,
  DataError,
  InterruptedError,
  LeakageError,
  MAX_ECHO_CHARS,
  ResumeRefusedError,
  StoreError,
} from "./errors.ts";
export type { DataLocation } from "./errors.ts";
export { CANDOR_VERSION } from "./version.ts";

// Data: loading, the Panel, the synthetic market
export {
  LOAD_MEMORY_MULTIPLE,
  LOAD_MEMORY_OVERHEAD_BYTES,
  loadPanel,
  MAX_EXTRA_COLUMNS,
  REQUIRED_COLUMNS,
} from "./data/load.ts";
export type { ExtraColumnSelection, LoadPanelOptions } from "./data/load.ts";
export { assertPanelAdequate, checkPanelAdequacy, MIN_LEARNING_DATES } from "./data/adequacy.ts";
export type { ConstantSymbol, PanelAdequacy, PanelAdequacyOptions } from "./data/adequacy.ts";
export { PANEL_COLUMNS, panelFromFrame, PRICE_COLUMNS } from "./data/panel.ts";
export type { Panel } from "./data/panel.ts";
export { assertMatrix, takeRows } from "./data/matrix.ts";
export type { Matrix } from "./data/matrix.ts";
export { canonicalColumnName, normalizeColumnName } from "./data/column_names.ts";
export { businessDays, syntheticMarket } from "./data/synthetic.ts";
export type { SyntheticMarket, SyntheticMarketOptions, SyntheticMarketParams } from "./data/synthetic.ts";
export { writePanelCsv } from "./data/write.ts";
export type { WritePanelCsvOptions } from "./data/write.ts";
export { fingerprintFiles } from "./data/fingerprint.ts";

// Features, targets, scalers
export { computeFeatureMatrix, computeFeatures, computeFeaturesOnFrame, float64Column } from "./features/definition.ts";
export type { SeriesThreads } from "./features/series_parallel.ts";
export type {
  CrossSectionalFeatureDef,
  ExprFeatureDef,
  FeatureDef,
  RowFeatureDef,
  SeriesFeatureDef,
  SymbolSeries,
} from "./features/definition.ts";
export { BASE_FEATURES } from "./features/base.ts";
export { FEATURE_REGISTRY, FULL_FEATURES, resolveFeatures } from "./features/catalog.ts";
export { alpha158Features } from "./features/alpha158.ts";
export {
  atrFeature,
  bollingerPercentBFeature,
  dailyLogReturn,
  garmanKlassVolatilityFeature,
  logReturnFeature,
  logReturns,
  macdFeatures,
  movingAverageRatioFeature,
  parkinsonVolatilityFeature,
  rangeFeature,
  realizedVolatilityFeature,
  rsiFeature,
  technicalFeatures,
  volumeZScoreFeature,
} from "./features/technical.ts";
export { calendarFeatures, crossSectionalRank, crossSectionalRankFeatures } from "./features/calendar.ts";
export { buildDataset } from "./features/dataset.ts";
export type { Dataset, DatasetOptions } from "./features/dataset.ts";
export {
  binaryLabel,
  dailyArithmeticReturn,
  excessOfMarket,
  fitTargetDemeaner,
  forwardLogReturnExpr,
  threeClassLabel,
} from "./features/targets.ts";
export type { FitWindow, FlatBand, TargetDemeaner } from "./features/targets.ts";
export { crossSectionalScale, fitRobustScaler, fitStandardScaler, sanitize } from "./features/scalers.ts";
export type { FittedScaler, SanitizePolicy, SanitizeReport } from "./features/scalers.ts";
export {
  causalWaveletDenoise,
  denoiseBlock,
  WAVELET_WHOLE_SERIES_LEAK_DEMO,
  waveletDeviationFeature,
  wholeSeriesWaveletDenoise,
} from "./features/wavelet.ts";
export type { WaveletDenoiseOptions } from "./features/wavelet.ts";

// Leakage audit and configuration checks
export {
  auditFeatures,
  controlReturns,
  findLeakingFeatures,
  formatPValue,
  formatStandardErrors,
  truncationTest,
} from "./leakage/audit.ts";
export type {
  AuditOptions,
  AuditReport,
  CorrelationStatistic,
  FeatureAudit,
  FeatureStatistics,
  TruncationResult,
  Verdict,
} from "./leakage/audit.ts";
export { checkConfiguration } from "./leakage/configuration.ts";
export type {
  ConfigurationCheckInput,
  ConfigurationFinding,
  FittedTransformRecord,
  FoldWindows,
} from "./leakage/configuration.ts";

// Validation: splitters and walk-forward efficiency
export { walkForwardSplits } from "./validation/walk_forward.ts";
export type { WalkForwardOptions } from "./validation/walk_forward.ts";
export {
  cpcvFromJSON,
  cpcvPathPredictions,
  cpcvSplits,
  cpcvToJSON,
  purgedKFoldSplits,
  threeWaySplit,
} from "./validation/splits.ts";
export type {
  CpcvOptions,
  CpcvPath,
  CpcvSplits,
  CpcvSplitsJSON,
  PurgedKFoldOptions,
  ThreeWaySplitOptions,
} from "./validation/splits.ts";
export { foldFromJSON, foldToJSON } from "./validation/fold.ts";
export type { DateWindow, Fold, FoldJSON } from "./validation/fold.ts";
export type { PurgeOptions } from "./validation/purge.ts";
export { annualizeReturn, walkForwardEfficiency } from "./validation/efficiency.ts";
export type { WalkForwardEfficiency } from "./validation/efficiency.ts";

// Metrics, baselines, inference, overfitting statistics
export {
  accuracy,
  balancedAccuracy,
  classificationReport,
  confusionMatrix,
  directionAccuracy,
  f1Score,
  formatClassificationReport,
  macroF1,
  matthewsCorrelation,
  precisionRecallF1,
} from "./metrics/classification.ts";
export type { ClassificationReport, ClassScores, ConfusionMatrix } from "./metrics/classification.ts";
export { crossSectionalIC, informationCoefficient, rankInformationCoefficient } from "./metrics/correlation.ts";
export type { CrossSectionalIC, CrossSectionalICOptions } from "./metrics/correlation.ts";
export {
  meanAbsoluteError,
  meanSquaredError,
  positivePredictionShare,
  predictionStd,
  r2Score,
} from "./metrics/regression.ts";
export {
  alwaysLongBaseline,
  coinFlipBaseline,
  directionBaselines,
  majorityClassBaseline,
  previousSignBaseline,
} from "./metrics/baselines.ts";
export type { DirectionBaselines, DirectionBaselinesInput } from "./metrics/baselines.ts";
export { balancedRegressionWeights, classWeights, sampleWeightsFromClasses } from "./metrics/class_weights.ts";
export { accuracySignificance, binomialTest, holmAdjusted, wilsonInterval } from "./metrics/significance.ts";
export type { AccuracySignificance } from "./metrics/significance.ts";
export {
  BOOTSTRAP_REPLICATES,
  bootstrapBlockLength,
  bootstrapCorrelation,
  bootstrapDates,
  bootstrapMean,
  bootstrapSharpeDifference,
} from "./metrics/bootstrap.ts";
export type { BootstrapEstimate } from "./metrics/bootstrap.ts";
export {
  deflatedSharpe,
  expectedMaxSharpe,
  minTrackRecordLength,
  probabilisticSharpe,
  sharpeStatistics,
} from "./metrics/sharpe.ts";
export type { SharpeStatistics } from "./metrics/sharpe.ts";
export { probabilityOfBacktestOverfitting } from "./metrics/pbo.ts";
export type { PboOptions, PboResult, ReturnsMatrix } from "./metrics/pbo.ts";
export { applyThreshold, bestF1Threshold } from "./metrics/threshold.ts";
export { DAILY_SINGLE_STOCK_LIMITS, plausibilityCheck } from "./metrics/plausibility.ts";
export type { PlausibilityFlag, PlausibilityInput, PlausibilityReport } from "./metrics/plausibility.ts";

// Models
export type { FitOptions, FitReport, Model, Target } from "./models/model.ts";
export { XGBoostModel } from "./models/xgboost/model.ts";
export type { FeatureImportance, ShapResult, XGBoostFitOptions, XGBoostOptions } from "./models/xgboost/model.ts";
export { openXGBoost, xgboostVersion } from "./models/xgboost/library.ts";
export { type ParamProbe, probeParams } from "./models/xgboost/params.ts";
export { ElasticNet, loadLinearModel, LogisticRegression, Ridge } from "./models/linear/linear.ts";
export type { ElasticNetOptions, LogisticRegressionOptions, RidgeOptions } from "./models/linear/linear.ts";
export { applyCalibrator, checkPositiveShare, fitCalibrator } from "./models/calibration/calibration.ts";
export type { CalibrationMethod, Calibrator } from "./models/calibration/calibration.ts";
export { metaFeatureNames, StackingModel } from "./models/stacking/stacking.ts";
export type { BaseModelSpec, StackingOptions } from "./models/stacking/stacking.ts";
export { appendRegimeColumns, causalRegimeFeatures } from "./models/stacking/regime.ts";
export type { RegimeFeatures, RegimeOptions } from "./models/stacking/regime.ts";
export { BACKEND_REQUESTS, backendInfo, initBackend, probeGpuAdapter } from "./models/nn/backend.ts";
export type { BackendInfo, BackendRequest, GpuAdapterInfo } from "./models/nn/backend.ts";
export { NeuralModel, slidingWindows } from "./models/nn/neural_model.ts";
export type { NeuralOptions, RegressionLoss, Task } from "./models/nn/neural_model.ts";
export { MLPModel } from "./models/nn/mlp.ts";
export type { MLPOptions } from "./models/nn/mlp.ts";
export { LSTMClassifier, LSTMRegressor } from "./models/nn/lstm.ts";
export type { LSTMOptions } from "./models/nn/lstm.ts";
export { LSTMTransformerModel } from "./models/nn/lstm_transformer.ts";
export type { LSTMTransformerOptions } from "./models/nn/lstm_transformer.ts";
export { XLSTMModel } from "./models/nn/xlstm.ts";
export type { XLSTMOptions } from "./models/nn/xlstm.ts";
export { NotearsDAG, notearsObjective, scoreEdges } from "./models/nn/notears.ts";
export type { EdgeScore, NotearsObjectiveOptions, NotearsOptions } from "./models/nn/notears.ts";

// Training loop, losses, schedules
export { train } from "./training/loop.ts";
export type {
  ArrayDataset,
  EpochContext,
  StopReason,
  Trainable,
  TrainBatch,
  TrainingEpoch,
  TrainingEvent,
  TrainingMonitor,
  TrainOptions,
  TrainResult,
} from "./training/loop.ts";
export {
  antiCollapse,
  balancedDirectionalLoss,
  crossEntropy,
  directionalHuber,
  directionalMse,
  huber,
  maskedCrossEntropy,
  mse,
} from "./training/losses.ts";
export type { AntiCollapseOptions, LossResult } from "./training/losses.ts";
export {
  constantSchedule,
  exponentialDecay,
  lambdaSchedule,
  ReduceLROnPlateau,
  restoreSchedule,
  stepDecay,
  warmupCosine,
} from "./training/schedules.ts";
export type { PlateauOptions, Schedule, WarmupCosineOptions } from "./training/schedules.ts";
export { SeededRandom } from "./training/rng.ts";

// Training-health diagnostics
export { diagnose, HealthLog, TrainingHealth } from "./diagnostics/health.ts";
export type { HealthRow, HealthSummary, TrainingHealthOptions } from "./diagnostics/health.ts";
export {
  GradientHealthMonitor,
  LossBalanceMonitor,
  SignBiasMonitor,
  VarianceCollapseMonitor,
  weightedLossShares,
} from "./diagnostics/monitors.ts";
export { auditInputScale } from "./diagnostics/input_scale.ts";
export type { InputScaleReport } from "./diagnostics/input_scale.ts";

// Backtests, sizing, forward simulation, sweeps
export { backtest } from "./backtest/engine.ts";
export type { BacktestOptions, BacktestResult, BenchmarkResult } from "./backtest/engine.ts";
export { computeMetrics, drawdownStats, METRIC_CONVENTIONS } from "./backtest/metrics.ts";
export type { BacktestMetrics } from "./backtest/metrics.ts";
export { backtestGrid, backtestPanel, panelReturns } from "./backtest/panel.ts";
export type { LongValues, PanelBacktestOptions, PanelBacktestResult } from "./backtest/panel.ts";
export { portfolioWeights } from "./backtest/portfolio.ts";
export type { PortfolioScheme } from "./backtest/portfolio.ts";
export { dailyExpectedReturn, dailyExpectedReturns } from "./backtest/forecast.ts";
export {
  applyDrawdownBreaker,
  describeSizing,
  forecastOverSigma,
  fractionalKelly,
  hybridPositions,
  kellyFraction,
  kellyPositions,
  longBiasedHalfKelly,
  signPositions,
  sizePositions,
  trailingVolatility,
  volatilityTarget,
  winRatePrior,
} from "./backtest/sizing.ts";
export type { HybridSizingParams, SizingInputs, SizingSpec } from "./backtest/sizing.ts";
export { simulateForward } from "./backtest/simulator.ts";
export type { ForwardOptions, ForwardResult, MarketView } from "./backtest/simulator.ts";
export {
  deflateSweep,
  rollingWindows,
  runSweep,
  sweepDataFromPanel,
  sweepMeta,
  sweepToCsv,
  writeSweep,
  yearlyWindows,
} from "./backtest/sweep.ts";
export type { SweepData, SweepGrid, SweepMeta, SweepOptions, SweepRow } from "./backtest/sweep.ts";

// Studies: configuration, the fold-trainer contract and registry, the study loop, records
export { readStudyConfigFile, resolveStudyConfig, StudyConfigSchema, taskOf } from "./pipeline/config.ts";
export type { ModelEntry, StudyConfig, StudyConfigInput } from "./pipeline/config.ts";
export { runStudy } from "./pipeline/study.ts";
export type { StudyOptions, StudyProgress, StudyResult, StudyStage } from "./pipeline/study.ts";
export { modelKinds, registerTrainer, trainerOf } from "./pipeline/trainers/registry.ts";
export type {
  FittedSpec,
  FoldFitReport,
  FoldInput,
  FoldOutput,
  FoldTrainer,
  PlannedFold,
  StudyData,
} from "./pipeline/trainers/contract.ts";
export { readStudyReport } from "./pipeline/recorder.ts";
export type { BacktestSummary, EntryReport, FoldReport, PooledReport, StudyReport } from "./pipeline/records.ts";
export { outOfSampleScores, readFoldResults } from "./pipeline/stored.ts";
export { configDifferences, resumableStudy, storedStudyConfig } from "./pipeline/resume.ts";

// Scale-out: BullMQ workers on Redis, results in the shared (Postgres) store
export { QueuedStudyError, type QueueStudyOptions, runStudyOnQueue } from "./scaleout/coordinator.ts";
export { type RunningWorker, startWorker, type WorkerOptions } from "./scaleout/worker.ts";
export { type CandorJob, JobError, type JobOutcome, type StudyFoldJob } from "./scaleout/jobs.ts";

// Run store
export { checkStore, openStore, resolveStoreLocation } from "./store/mod.ts";
export type { IntegrityReport } from "./store/mod.ts";
export { PostgresStore } from "./store/postgres.ts";
export { SqliteStore } from "./store/sqlite.ts";
export { StoreDamagedError, StoreLockedError, StoreUnavailableError } from "./store/store.ts";
export type {
  BacktestRecord,
  DiagnosticRecord,
  EpochRecord,
  FoldParts,
  FoldRecord,
  FoldWriteOutcome,
  InterruptedRecords,
  Liveness,
  NewRun,
  NewStudy,
  PredictionRecord,
  PredictionSplit,
  ReopenedRun,
  ReopenedStudy,
  Run,
  RunError,
  RunFinalParts,
  RunStatus,
  RunSummary,
  Store,
  StoredBacktest,
  StoredDiagnostic,
  StoredEpoch,
  StoredFold,
  StoredPredictions,
  Study,
  StudySummary,
} from "./store/store.ts";

// Production: sizing of a study's predictions, production models, latest-date predictions, re-sized backtests,
// sweeps over stored predictions with the trial registry, forward simulation
export { parseSizing, SEED_AAPL_SIZING, sizeBook, SIZING_KINDS, sizingLabel } from "./pipeline/sizing.ts";
export type { BookInput, PortfolioConfig, SizingConfig } from "./pipeline/sizing.ts";
export type { EntryScores, TrainedModel } from "./pipeline/trainers/contract.ts";
export { DEFAULT_MODELS_DIR, trainProduction } from "./production/train.ts";
export type { ProductionInput, ProductionModel, ProductionResult } from "./production/train.ts";
export { fromStoredStudy, fromStudyResult } from "./production/study_source.ts";
export { findModel, loadComponents, readManifest, scoreModel } from "./production/model.ts";
export type { ModelManifest } from "./production/model.ts";
export { predictLatest } from "./production/predict.ts";
export type { PredictInput, PredictOutput } from "./production/predict.ts";
export { rebacktestRun } from "./production/rebacktest.ts";
export { parseSweepGrid, readSweepGrid, sweepRun } from "./production/sweep.ts";
export { simulateProduction } from "./production/simulate.ts";
export type { SimulateInput, SimulationResult } from "./production/simulate.ts";
export type {
  NewModel,
  NewProductionPredictions,
  NewSweep,
  ProductionPrediction,
  StoredModel,
  StoredProductionPredictions,
  StoredSweep,
  TrialCount,
  TrialKey,
} from "./store/production.ts";

// Reports and notebooks
export { drawdownChart, equityChart, equityFromReturns, foldMetricsChart, lineChart } from "./report/charts.ts";
export type { EquityChartInput, FoldMetricsChartInput, LineChartInput } from "./report/charts.ts";
export { renderPng, renderSvg } from "./report/render.ts";
export { chartDisplay, showChart, showTable, tableDisplay } from "./report/notebook.ts";
