/**
 * The SQLite schema, as forward-only versioned migrations.
 *
 * Each migration runs once and records itself in `schema_version`; the pending ones run in one transaction (all or
 * nothing). Never edit a released
 * migration: add the next version. A database whose version is newer than the last migration here is refused (an
 * older candor must not write into a schema it does not know).
 *
 * Layout (one row per run; its parts keyed by run id and deleted with it):
 * - `runs`: identity, times (epoch ms), status with CHECKs tying `finished_at`/`error` to it, JSON config and summary.
 * - `folds`: one per (run, fold index); date windows, metrics, baselines and fit report as JSON.
 * - `epochs`: one per (run, fold, epoch); REAL columns plus a bit mask of fields that were NaN (SQLite stores NaN as
 *   NULL, which would otherwise read back as "not recorded").
 * - `diagnostics`: append-only, ordered by `seq`.
 * - `backtests`: at most one per run; the equity curve as little-endian Int32 day numbers and Float64 values (BLOBs).
 *
 * Version 2 (studies):
 * - `studies`: one per study, mirroring `runs` (status CHECKs, JSON config/summary/symbols/features/entries).
 * - `runs` gains `study_id` (→ `studies`, deleted with it), `entry`, `features`, `data_fingerprint`, `version`, all
 *   nullable; each version-1 run is given a study of its own (`study_` + the run id's ULID, `summary` `{"legacy":true}`).
 * - `predictions`: one per (run, fold): dates as Int32 day numbers, symbols as a JSON dictionary plus an Int32 index per
 *   row, scores as Float64 (BLOBs keep NaN, which a REAL column would turn into NULL), all little-endian; CHECKs tie
 *   the BLOB lengths to `n_rows` and `width`.
 *
 * Version 3 (interruption, resumption, annotations):
 * - `studies` and `runs` are rebuilt (SQLite cannot alter a CHECK): status `interrupted` joins the CHECKs, and `error`
 *   is required exactly for `failed` and `interrupted`; new columns `heartbeat_at` (epoch ms), `note`, and `reopened`
 *   (a JSON array of earlier endings, `[]`). Every row and every column value is copied unchanged.
 * - `predictions` is rebuilt with `split` (`test` | `validation`) in its primary key (run, fold, split); existing
 *   records are `test`.
 * - `run_tags` and `study_tags`: one row per (record, tag), deleted with their record.
 * The rebuilds run with foreign keys off (a dropped parent table would otherwise cascade-delete its children), and
 * `PRAGMA foreign_key_check` must come back empty before the migration commits (see `migrate` in sqlite.ts).
 *
 * Versions 4 (production tables) and 5 (`retired_trials`: trials of deleted runs, still counted by the trial registry)
 * are described in schema_production.ts.
 *
 * Tables are STRICT, so a wrong type is an error instead of a silent coercion.
 *
 * @module
 */

import { SQLITE_PRODUCTION_MIGRATION, SQLITE_RETIRED_TRIALS_MIGRATION } from "./schema_production.ts";

/** A schema migration. `version`s are consecutive from 1. */
export interface Migration {
  /** Schema version this migration produces (1, 2, ...). */
  version: number;
  /** One line recorded in `schema_version`. */
  description: string;
  /** The SQL, run in the migrating transaction. */
  sql: string;
}

/** Every SQLite migration, oldest first. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "runs, folds, epochs, diagnostics, backtests",
    sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        error TEXT,
        config TEXT NOT NULL,
        seed INTEGER,
        model TEXT NOT NULL,
        symbols TEXT NOT NULL,
        data_source TEXT NOT NULL,
        backend TEXT,
        leakage_override INTEGER NOT NULL CHECK (leakage_override IN (0, 1)),
        summary TEXT,
        CHECK ((status = 'running') = (finished_at IS NULL)),
        CHECK ((status = 'failed') = (error IS NOT NULL))
      ) STRICT;
      CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);
      CREATE INDEX runs_by_status ON runs (status, created_at DESC, id DESC);

      CREATE TABLE folds (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index INTEGER NOT NULL CHECK (fold_index >= 0),
        train TEXT NOT NULL,
        test TEXT NOT NULL,
        validation TEXT NOT NULL,
        purge INTEGER NOT NULL CHECK (purge >= 0),
        embargo INTEGER NOT NULL CHECK (embargo >= 0),
        n_train INTEGER NOT NULL CHECK (n_train >= 0),
        n_test INTEGER NOT NULL CHECK (n_test >= 0),
        metrics TEXT NOT NULL,
        baselines TEXT NOT NULL,
        fit_report TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, fold_index)
      ) STRICT;

      CREATE TABLE epochs (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index INTEGER CHECK (fold_index >= 0),
        epoch INTEGER NOT NULL CHECK (epoch >= 0),
        train_loss REAL,
        val_loss REAL,
        lr REAL,
        grad_norm REAL,
        clip_ratio REAL,
        nan_mask INTEGER NOT NULL DEFAULT 0,
        extra TEXT
      ) STRICT;
      CREATE UNIQUE INDEX epochs_key ON epochs (run_id, coalesce(fold_index, -1), epoch);

      CREATE TABLE diagnostics (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index INTEGER CHECK (fold_index >= 0),
        kind TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
        message TEXT NOT NULL,
        data TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX diagnostics_by_run ON diagnostics (run_id, seq);

      CREATE TABLE backtests (
        run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
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
    `,
  },
  // --- Version 2: studies and out-of-sample predictions ---
  {
    version: 2,
    description: "studies (every version-1 run gets its own), run study fields, out-of-sample predictions",
    sql: `
      CREATE TABLE studies (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        error TEXT,
        name TEXT,
        config TEXT NOT NULL,
        seed INTEGER,
        symbols TEXT NOT NULL,
        data_source TEXT NOT NULL,
        data_fingerprint TEXT,
        version TEXT,
        features TEXT NOT NULL,
        entries TEXT NOT NULL,
        leakage_override INTEGER NOT NULL CHECK (leakage_override IN (0, 1)),
        summary TEXT,
        CHECK ((status = 'running') = (finished_at IS NULL)),
        CHECK ((status = 'failed') = (error IS NOT NULL))
      ) STRICT;
      CREATE INDEX studies_by_created ON studies (created_at DESC, id DESC);
      CREATE INDEX studies_by_status ON studies (status, created_at DESC, id DESC);

      ALTER TABLE runs ADD COLUMN study_id TEXT REFERENCES studies (id) ON DELETE CASCADE;
      ALTER TABLE runs ADD COLUMN entry TEXT;
      ALTER TABLE runs ADD COLUMN features TEXT;
      ALTER TABLE runs ADD COLUMN data_fingerprint TEXT;
      ALTER TABLE runs ADD COLUMN version TEXT;
      CREATE INDEX runs_by_study ON runs (study_id, created_at, id);

      -- Every version-1 run becomes the only entry of a study of its own, so every run belongs to a study.
      INSERT INTO studies (id, created_at, finished_at, status, error, name, config, seed, symbols, data_source,
          data_fingerprint, version, features, entries, leakage_override, summary)
        SELECT 'study_' || (CASE WHEN substr(id, 1, 4) = 'run_' THEN substr(id, 5) ELSE id END), created_at,
          finished_at, status, error, NULL, config, seed, symbols, data_source, NULL, NULL, '[]',
          json_array(json_object('name', model, 'kind', model)), leakage_override, '{"legacy":true}'
        FROM runs;
      UPDATE runs SET study_id = 'study_' || (CASE WHEN substr(id, 1, 4) = 'run_' THEN substr(id, 5) ELSE id END),
        entry = model;

      CREATE TABLE predictions (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index INTEGER NOT NULL CHECK (fold_index >= 0),
        n_rows INTEGER NOT NULL CHECK (n_rows >= 0),
        width INTEGER NOT NULL CHECK (width >= 1),
        dates BLOB NOT NULL CHECK (length(dates) = 4 * n_rows),
        symbol_dictionary TEXT NOT NULL,
        symbol_codes BLOB NOT NULL CHECK (length(symbol_codes) = 4 * n_rows),
        scores BLOB NOT NULL CHECK (length(scores) = 8 * n_rows * width),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, fold_index)
      ) STRICT;
    `,
  },
  // --- Version 3: interruption, heartbeats, resumable predictions, annotations ---
  {
    version: 3,
    description: "status interrupted, heartbeats, notes, reopenings, prediction splits, tags",
    sql: `
      CREATE TABLE studies_v3 (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        error TEXT,
        name TEXT,
        config TEXT NOT NULL,
        seed INTEGER,
        symbols TEXT NOT NULL,
        data_source TEXT NOT NULL,
        data_fingerprint TEXT,
        version TEXT,
        features TEXT NOT NULL,
        entries TEXT NOT NULL,
        leakage_override INTEGER NOT NULL CHECK (leakage_override IN (0, 1)),
        summary TEXT,
        heartbeat_at INTEGER,
        note TEXT,
        reopened TEXT NOT NULL DEFAULT '[]',
        CHECK ((status = 'running') = (finished_at IS NULL)),
        CHECK ((status IN ('failed', 'interrupted')) = (error IS NOT NULL))
      ) STRICT;
      INSERT INTO studies_v3 (id, created_at, finished_at, status, error, name, config, seed, symbols, data_source,
          data_fingerprint, version, features, entries, leakage_override, summary)
        SELECT id, created_at, finished_at, status, error, name, config, seed, symbols, data_source, data_fingerprint,
          version, features, entries, leakage_override, summary
        FROM studies;
      DROP TABLE studies;
      ALTER TABLE studies_v3 RENAME TO studies;
      CREATE INDEX studies_by_created ON studies (created_at DESC, id DESC);
      CREATE INDEX studies_by_status ON studies (status, created_at DESC, id DESC);

      CREATE TABLE runs_v3 (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        error TEXT,
        config TEXT NOT NULL,
        seed INTEGER,
        model TEXT NOT NULL,
        symbols TEXT NOT NULL,
        data_source TEXT NOT NULL,
        backend TEXT,
        leakage_override INTEGER NOT NULL CHECK (leakage_override IN (0, 1)),
        summary TEXT,
        study_id TEXT REFERENCES studies (id) ON DELETE CASCADE,
        entry TEXT,
        features TEXT,
        data_fingerprint TEXT,
        version TEXT,
        heartbeat_at INTEGER,
        note TEXT,
        reopened TEXT NOT NULL DEFAULT '[]',
        CHECK ((status = 'running') = (finished_at IS NULL)),
        CHECK ((status IN ('failed', 'interrupted')) = (error IS NOT NULL))
      ) STRICT;
      INSERT INTO runs_v3 (id, created_at, finished_at, status, error, config, seed, model, symbols, data_source,
          backend, leakage_override, summary, study_id, entry, features, data_fingerprint, version)
        SELECT id, created_at, finished_at, status, error, config, seed, model, symbols, data_source, backend,
          leakage_override, summary, study_id, entry, features, data_fingerprint, version
        FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_v3 RENAME TO runs;
      CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);
      CREATE INDEX runs_by_status ON runs (status, created_at DESC, id DESC);
      CREATE INDEX runs_by_study ON runs (study_id, created_at, id);

      CREATE TABLE predictions_v3 (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index INTEGER NOT NULL CHECK (fold_index >= 0),
        split TEXT NOT NULL CHECK (split IN ('test', 'validation')),
        n_rows INTEGER NOT NULL CHECK (n_rows >= 0),
        width INTEGER NOT NULL CHECK (width >= 1),
        dates BLOB NOT NULL CHECK (length(dates) = 4 * n_rows),
        symbol_dictionary TEXT NOT NULL,
        symbol_codes BLOB NOT NULL CHECK (length(symbol_codes) = 4 * n_rows),
        scores BLOB NOT NULL CHECK (length(scores) = 8 * n_rows * width),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, fold_index, split)
      ) STRICT;
      INSERT INTO predictions_v3 (run_id, fold_index, split, n_rows, width, dates, symbol_dictionary, symbol_codes,
          scores, created_at)
        SELECT run_id, fold_index, 'test', n_rows, width, dates, symbol_dictionary, symbol_codes, scores, created_at
        FROM predictions;
      DROP TABLE predictions;
      ALTER TABLE predictions_v3 RENAME TO predictions;

      CREATE TABLE run_tags (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        tag TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, tag)
      ) STRICT;
      CREATE INDEX run_tags_by_tag ON run_tags (tag, run_id);
      CREATE TABLE study_tags (
        study_id TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
        tag TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (study_id, tag)
      ) STRICT;
      CREATE INDEX study_tags_by_tag ON study_tags (tag, study_id);
    `,
  },
  // --- Version 4: production models and predictions, run backtests, sweeps and trials (./schema_production.ts) ---
  SQLITE_PRODUCTION_MIGRATION,
  // --- Version 5: trials of deleted runs stay counted (./schema_production.ts) ---
  SQLITE_RETIRED_TRIALS_MIGRATION,
];
