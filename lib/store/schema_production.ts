/**
 * Schema versions 4 (production) and 5 (retired trials), for both backends: the model registry, production
 * predictions, backtests added to runs, sweeps and their trials, and the trials of deleted runs. Kept in their own
 * module so the migration list of each backend only appends them.
 *
 * - `models`: one row per registered production model; its study and run are kept as references that survive their
 *   deletion (`ON DELETE SET NULL`), since a model in production outlives the records it was validated by.
 * - `production_batches` + `production_predictions`: one batch per `candor predict` call (model, as-of date, data
 *   fingerprint, conventions), one row per symbol. Score, confidence, position and weight are nullable REAL /
 *   double precision columns where NULL means "none" (read back as NaN): they are never NaN for a predicted symbol.
 * - `run_backtests`: backtests added to a run (sealed runs included), the same columns as `backtests` plus a sequence
 *   number; the run's own backtest in `backtests` is never touched.
 * - `sweeps` + `trials`: one sweep per `candor sweep`, one trial per cell with its coordinates and metrics; sweeps are
 *   indexed by the trial key (data fingerprint, target kind, horizon) the trial registry counts under.
 *
 * Version 5 (retired trials):
 * - `retired_trials`: one row per trial of a deleted run, written by `deleteRun` / `deleteStudy` in the deleting
 *   transaction: the trial key the run was counted under, what the trial was (`run`: the run's own backtest, or the
 *   run without one; `run_backtest`: a backtest added to it, with its `seq`), the run id, its per-period Sharpe ratio
 *   (NULL when undefined) and when it was retired. The trial registry counts them with the live trials, so deleting a
 *   run never lowers N nor drops a Sharpe ratio from the trial variance of a deflated Sharpe ratio. No foreign keys:
 *   the rows outlive the records they came from. Indexed by the trial key.
 *
 * @module
 */

import type { Migration } from "./sqlite_schema.ts";

/** SQLite: schema version 4. */
export const SQLITE_PRODUCTION_MIGRATION: Migration = {
  version: 4,
  description: "production models and predictions, backtests added to runs, sweeps and trials",
  sql: `
    CREATE TABLE models (
      id TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL,
      name TEXT NOT NULL,
      kind TEXT NOT NULL,
      path TEXT NOT NULL,
      study_id TEXT REFERENCES studies (id) ON DELETE SET NULL,
      run_id TEXT REFERENCES runs (id) ON DELETE SET NULL,
      config TEXT NOT NULL,
      features TEXT NOT NULL,
      data_fingerprint TEXT NOT NULL,
      data_source TEXT NOT NULL,
      version TEXT NOT NULL,
      target_kind TEXT NOT NULL,
      horizon INTEGER NOT NULL CHECK (horizon >= 1),
      trained_from TEXT NOT NULL,
      trained_to TEXT NOT NULL,
      last_price_date TEXT NOT NULL,
      symbols TEXT NOT NULL,
      gate TEXT NOT NULL,
      skip_gate INTEGER NOT NULL CHECK (skip_gate IN (0, 1)),
      summary TEXT
    ) STRICT;
    CREATE INDEX models_by_created ON models (created_at DESC, id DESC);

    CREATE TABLE production_batches (
      id TEXT PRIMARY KEY,
      model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
      created_at INTEGER NOT NULL,
      as_of TEXT NOT NULL,
      data_fingerprint TEXT NOT NULL,
      data_source TEXT NOT NULL,
      details TEXT
    ) STRICT;
    CREATE INDEX production_batches_by_model ON production_batches (model_id, created_at, id);

    CREATE TABLE production_predictions (
      batch_id TEXT NOT NULL REFERENCES production_batches (id) ON DELETE CASCADE,
      row_index INTEGER NOT NULL CHECK (row_index >= 0),
      symbol TEXT NOT NULL,
      date TEXT NOT NULL,
      score REAL,
      confidence REAL,
      position REAL,
      weight REAL,
      warnings TEXT NOT NULL,
      PRIMARY KEY (batch_id, row_index),
      UNIQUE (batch_id, symbol)
    ) STRICT;

    CREATE TABLE run_backtests (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      lag INTEGER NOT NULL CHECK (lag >= 0),
      cost_bps REAL NOT NULL,
      slippage_bps REAL NOT NULL,
      annualization REAL NOT NULL,
      metrics TEXT NOT NULL,
      buy_and_hold TEXT NOT NULL,
      warnings TEXT NOT NULL,
      equity_dates BLOB NOT NULL,
      equity_values BLOB NOT NULL,
      buy_and_hold_values BLOB,
      details TEXT,
      created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX run_backtests_by_run ON run_backtests (run_id, seq);

    CREATE TABLE sweeps (
      id TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL,
      run_id TEXT REFERENCES runs (id) ON DELETE SET NULL,
      data_fingerprint TEXT NOT NULL,
      target_kind TEXT NOT NULL,
      horizon INTEGER NOT NULL CHECK (horizon >= 1),
      grid TEXT NOT NULL,
      options TEXT NOT NULL,
      dir TEXT,
      summary TEXT,
      trials_before INTEGER NOT NULL CHECK (trials_before >= 0),
      cells INTEGER NOT NULL CHECK (cells >= 1)
    ) STRICT;
    CREATE INDEX sweeps_by_created ON sweeps (created_at DESC, id DESC);
    CREATE INDEX sweeps_by_key ON sweeps (data_fingerprint, target_kind, horizon);

    CREATE TABLE trials (
      sweep_id TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
      cell INTEGER NOT NULL CHECK (cell >= 0),
      symbol TEXT NOT NULL,
      window_start TEXT NOT NULL,
      window_end TEXT NOT NULL,
      cost_bps REAL NOT NULL CHECK (cost_bps >= 0),
      slippage_bps REAL NOT NULL CHECK (slippage_bps >= 0),
      lag INTEGER NOT NULL CHECK (lag >= 0),
      sizing TEXT NOT NULL,
      annualization REAL NOT NULL CHECK (annualization > 0),
      metrics TEXT NOT NULL,
      buy_and_hold TEXT NOT NULL,
      PRIMARY KEY (sweep_id, cell)
    ) STRICT;
  `,
};

/**
 * Postgres: schema version 4 (same tables and meaning). Every JSON column is `json`, as since version 3: the document
 * exactly as written, keys in the order written.
 */
export const POSTGRES_PRODUCTION_MIGRATION: Migration = {
  version: 4,
  description: SQLITE_PRODUCTION_MIGRATION.description,
  sql: `
    CREATE TABLE models (
      id text PRIMARY KEY,
      created_at bigint NOT NULL,
      name text NOT NULL,
      kind text NOT NULL,
      path text NOT NULL,
      study_id text REFERENCES studies (id) ON DELETE SET NULL,
      run_id text REFERENCES runs (id) ON DELETE SET NULL,
      config json NOT NULL,
      features json NOT NULL,
      data_fingerprint text NOT NULL,
      data_source text NOT NULL,
      version text NOT NULL,
      target_kind text NOT NULL,
      horizon integer NOT NULL CHECK (horizon >= 1),
      trained_from text NOT NULL,
      trained_to text NOT NULL,
      last_price_date text NOT NULL,
      symbols json NOT NULL,
      gate json NOT NULL,
      skip_gate boolean NOT NULL,
      summary json
    );
    CREATE INDEX models_by_created ON models (created_at DESC, id DESC);

    CREATE TABLE production_batches (
      id text PRIMARY KEY,
      model_id text NOT NULL REFERENCES models (id) ON DELETE CASCADE,
      created_at bigint NOT NULL,
      as_of text NOT NULL,
      data_fingerprint text NOT NULL,
      data_source text NOT NULL,
      details json
    );
    CREATE INDEX production_batches_by_model ON production_batches (model_id, created_at, id);

    CREATE TABLE production_predictions (
      batch_id text NOT NULL REFERENCES production_batches (id) ON DELETE CASCADE,
      row_index integer NOT NULL CHECK (row_index >= 0),
      symbol text NOT NULL,
      date text NOT NULL,
      score double precision,
      confidence double precision,
      position double precision,
      weight double precision,
      warnings json NOT NULL,
      PRIMARY KEY (batch_id, row_index),
      UNIQUE (batch_id, symbol)
    );

    CREATE TABLE run_backtests (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      lag integer NOT NULL CHECK (lag >= 0),
      cost_bps double precision NOT NULL,
      slippage_bps double precision NOT NULL,
      annualization double precision NOT NULL,
      metrics json NOT NULL,
      buy_and_hold json NOT NULL,
      warnings json NOT NULL,
      equity_dates bytea NOT NULL,
      equity_values bytea NOT NULL,
      buy_and_hold_values bytea,
      details json,
      created_at bigint NOT NULL
    );
    CREATE INDEX run_backtests_by_run ON run_backtests (run_id, seq);

    CREATE TABLE sweeps (
      id text PRIMARY KEY,
      created_at bigint NOT NULL,
      run_id text REFERENCES runs (id) ON DELETE SET NULL,
      data_fingerprint text NOT NULL,
      target_kind text NOT NULL,
      horizon integer NOT NULL CHECK (horizon >= 1),
      grid json NOT NULL,
      options json NOT NULL,
      dir text,
      summary json,
      trials_before bigint NOT NULL CHECK (trials_before >= 0),
      cells integer NOT NULL CHECK (cells >= 1)
    );
    CREATE INDEX sweeps_by_created ON sweeps (created_at DESC, id DESC);
    CREATE INDEX sweeps_by_key ON sweeps (data_fingerprint, target_kind, horizon);

    CREATE TABLE trials (
      sweep_id text NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
      cell integer NOT NULL CHECK (cell >= 0),
      symbol text NOT NULL,
      window_start text NOT NULL,
      window_end text NOT NULL,
      cost_bps double precision NOT NULL CHECK (cost_bps >= 0),
      slippage_bps double precision NOT NULL CHECK (slippage_bps >= 0),
      lag integer NOT NULL CHECK (lag >= 0),
      sizing text NOT NULL,
      annualization double precision NOT NULL CHECK (annualization > 0),
      metrics json NOT NULL,
      buy_and_hold json NOT NULL,
      PRIMARY KEY (sweep_id, cell)
    );
  `,
};

/** SQLite: schema version 5. */
export const SQLITE_RETIRED_TRIALS_MIGRATION: Migration = {
  version: 5,
  description: "retired trials: deleted runs stay counted by the trial registry",
  sql: `
    CREATE TABLE retired_trials (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      data_fingerprint TEXT NOT NULL,
      target_kind TEXT NOT NULL,
      horizon INTEGER NOT NULL CHECK (horizon >= 1),
      source TEXT NOT NULL CHECK (source IN ('run', 'run_backtest')),
      run_id TEXT NOT NULL,
      backtest_seq INTEGER,
      sharpe REAL,
      retired_at INTEGER NOT NULL,
      CHECK ((source = 'run_backtest') = (backtest_seq IS NOT NULL))
    ) STRICT;
    CREATE INDEX retired_trials_by_key ON retired_trials (data_fingerprint, target_kind, horizon);
    CREATE UNIQUE INDEX retired_trials_once ON retired_trials (run_id, coalesce(backtest_seq, -1));
  `,
};

/**
 * Postgres: schema version 5 (same table and meaning). `horizon` is `bigint`: a trial key's horizon is any safe integer
 * ≥ 1, and a run's target horizon is matched as written.
 */
export const POSTGRES_RETIRED_TRIALS_MIGRATION: Migration = {
  version: 5,
  description: SQLITE_RETIRED_TRIALS_MIGRATION.description,
  sql: `
    CREATE TABLE retired_trials (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      data_fingerprint text NOT NULL,
      target_kind text NOT NULL,
      horizon bigint NOT NULL CHECK (horizon >= 1),
      source text NOT NULL CHECK (source IN ('run', 'run_backtest')),
      run_id text NOT NULL,
      backtest_seq bigint,
      sharpe double precision,
      retired_at bigint NOT NULL,
      CHECK ((source = 'run_backtest') = (backtest_seq IS NOT NULL))
    );
    CREATE INDEX retired_trials_by_key ON retired_trials (data_fingerprint, target_kind, horizon);
    CREATE UNIQUE INDEX retired_trials_once ON retired_trials (run_id, coalesce(backtest_seq, -1));
  `,
};
