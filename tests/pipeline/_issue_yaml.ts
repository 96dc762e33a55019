/** The study configuration of issue 11, verbatim apart from the data path (tests run it on real prices). */
export const ISSUE_YAML = `
data: { path: prices/ }
target: { kind: direction, horizon: 1 }
validation: { scheme: rolling, folds: 3, trainDays: 1000 }
features: base
models:
  - { name: gbm, kind: xgboost }
  - { name: mlp, kind: mlp, settings: { epochs: 5 } }
  - { name: lt, kind: lstm-transformer, settings: { epochs: 2 } }
  - { name: xl, kind: xlstm, settings: { epochs: 2 } }
  - { name: stack, kind: stacking, base: [gbm, mlp], meta: elasticnet }
backtest: { costBps: 5 }
`;
