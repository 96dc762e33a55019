/**
 * The Postgres schema, as forward-only versioned migrations (same versions and meaning as the SQLite ones in
 * sqlite_schema.ts; the SQL differs by dialect).
 *
 * Dialect choices:
 * - Epoch milliseconds are `bigint` (read back as JS numbers: exact up to year 287 396).
 * - Metric maps and date windows are `json` (keeps key order, so metrics list in the order written); configuration,
 *   summaries and free-form data are `jsonb` (queryable and indexable).
 * - Epoch numbers are `double precision`, which holds NaN and ±Infinity natively (no NaN mask needed).
 * - The equity curve is `bytea`, in the same compact little-endian encoding as SQLite.
 * - Version 2 (studies, predictions): the same tables and backfill as SQLite's version 2; prediction arrays are
 *   `bytea` in the same encoding, the symbol dictionary `jsonb`.
 * - Version 3 (interruption, resumption, annotations): the same changes as SQLite's version 3, plus a repair. Until
 *   version 3 the write path stored every JSON column as a JSON *string* holding the document's text (postgres.js
 *   encoded the text parameter once more, because the parameter was typed `json`/`jsonb`), so no column could be
 *   queried as a document. Version 3 unwraps those strings and makes every document column `json`: the text exactly as
 *   written, keys in the order written (as SQLite keeps them, and as the string held them), queryable with `->`,
 *   `->>`, `#>>` and, after a cast to `jsonb`, containment and JSON path. (`jsonb` would have reordered object keys, so
 *   metric maps inside summaries would list differently from SQLite.) The one exception is the predictions' symbol
 *   dictionary: an array of strings, left `jsonb` (order kept) so the upgrade does not rewrite the prediction arrays.
 *   Writes now send JSON as text cast to `json` (`$1::text::json`), which is stored as the document.
 *
 * @module
 */

import type { Migration } from "./sqlite_schema.ts";
import { POSTGRES_PRODUCTION_MIGRATION, POSTGRES_RETIRED_TRIALS_MIGRATION } from "./schema_production.ts";

/** `column` as a `json` document: a JSON string holding a document's text (the old write path) is unwrapped. */
function unwrapJsonb(column: string): string {
  return `ALTER COLUMN ${column} TYPE json USING ` +
    `(CASE WHEN jsonb_typeof(${column}) = 'string' THEN ${column} #>> '{}' ELSE ${column}::text END)::json`;
}

/** An assignment unwrapping a `json` column that holds a JSON string of a document. */
function unwrapJson(column: string): string {
  return `${column} = CASE WHEN json_typeof(${column}) = 'string' THEN (${column} #>> '{}')::json ELSE ${column} END`;
}

/** Drops every CHECK constraint of `table` that mentions its status (their names depend on how they were declared). */
function dropStatusChecks(table: string): string {
  return `DO $$
      DECLARE c record;
      BEGIN
        FOR c IN SELECT conname FROM pg_constraint
                 WHERE contype = 'c' AND conrelid = '${table}'::regclass AND pg_get_constraintdef(oid) LIKE '%status%'
        LOOP
          EXECUTE format('ALTER TABLE ${table} DROP CONSTRAINT %I', c.conname);
        END LOOP;
      END $$;`;
}

/** Every Postgres migration, oldest first. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "runs, folds, epochs, diagnostics, backtests",
    sql: `
      CREATE TABLE runs (
        id text PRIMARY KEY,
        created_at bigint NOT NULL,
        finished_at bigint,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        error jsonb,
        config jsonb NOT NULL,
        seed bigint,
        model text NOT NULL,
        symbols jsonb NOT NULL,
        data_source text NOT NULL,
        backend text,
        leakage_override boolean NOT NULL,
        summary jsonb,
        CHECK ((status = 'running') = (finished_at IS NULL)),
        CHECK ((status = 'failed') = (error IS NOT NULL))
      );
      CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);
      CREATE INDEX runs_by_status ON runs (status, created_at DESC, id DESC);

      CREATE TABLE folds (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index integer NOT NULL CHECK (fold_index >= 0),
        train json NOT NULL,
        test json NOT NULL,
        validation json NOT NULL,
        purge integer NOT NULL CHECK (purge >= 0),
        embargo integer NOT NULL CHECK (embargo >= 0),
        n_train bigint NOT NULL CHECK (n_train >= 0),
        n_test bigint NOT NULL CHECK (n_test >= 0),
        metrics json NOT NULL,
        baselines json NOT NULL,
        fit_report jsonb NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (run_id, fold_index)
      );

      CREATE TABLE epochs (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index integer CHECK (fold_index >= 0),
        epoch integer NOT NULL CHECK (epoch >= 0),
        train_loss double precision NOT NULL,
        val_loss double precision,
        lr double precision,
        grad_norm double precision,
        clip_ratio double precision,
        extra jsonb
      );
      CREATE UNIQUE INDEX epochs_key ON epochs (run_id, coalesce(fold_index, -1), epoch);

      CREATE TABLE diagnostics (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index integer CHECK (fold_index >= 0),
        kind text NOT NULL,
        severity text NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
        message text NOT NULL,
        data jsonb,
        created_at bigint NOT NULL
      );
      CREATE INDEX diagnostics_by_run ON diagnostics (run_id, seq);

      CREATE TABLE backtests (
        run_id text PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
        lag integer NOT NULL CHECK (lag >= 0),
        cost_bps double precision NOT NULL,
        slippage_bps double precision NOT NULL,
        annualization double precision NOT NULL,
        metrics json NOT NULL,
        buy_and_hold json NOT NULL,
        warnings jsonb NOT NULL,
        equity_dates bytea NOT NULL,
        equity_values bytea NOT NULL,
        buy_and_hold_values bytea,
        details jsonb,
        created_at bigint NOT NULL
      );
    `,
  },
  // --- Version 2: studies and out-of-sample predictions ---
  {
    version: 2,
    description: "studies (every version-1 run gets its own), run study fields, out-of-sample predictions",
    sql: `
      CREATE TABLE studies (
        id text PRIMARY KEY,
        created_at bigint NOT NULL,
        finished_at bigint,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        error jsonb,
        name text,
        config jsonb NOT NULL,
        seed bigint,
        symbols jsonb NOT NULL,
        data_source text NOT NULL,
        data_fingerprint text,
        version text,
        features jsonb NOT NULL,
        entries jsonb NOT NULL,
        leakage_override boolean NOT NULL,
        summary jsonb,
        CHECK ((status = 'running') = (finished_at IS NULL)),
        CHECK ((status = 'failed') = (error IS NOT NULL))
      );
      CREATE INDEX studies_by_created ON studies (created_at DESC, id DESC);
      CREATE INDEX studies_by_status ON studies (status, created_at DESC, id DESC);

      ALTER TABLE runs
        ADD COLUMN study_id text REFERENCES studies (id) ON DELETE CASCADE,
        ADD COLUMN entry text,
        ADD COLUMN features jsonb,
        ADD COLUMN data_fingerprint text,
        ADD COLUMN version text;
      CREATE INDEX runs_by_study ON runs (study_id, created_at, id);

      -- Every version-1 run becomes the only entry of a study of its own, so every run belongs to a study.
      INSERT INTO studies (id, created_at, finished_at, status, error, name, config, seed, symbols, data_source,
          data_fingerprint, version, features, entries, leakage_override, summary)
        SELECT 'study_' || (CASE WHEN left(id, 4) = 'run_' THEN substr(id, 5) ELSE id END), created_at, finished_at,
          status, error, NULL, config, seed, symbols, data_source, NULL, NULL, '[]'::jsonb,
          jsonb_build_array(jsonb_build_object('name', model, 'kind', model)), leakage_override,
          '{"legacy": true}'::jsonb
        FROM runs;
      UPDATE runs SET study_id = 'study_' || (CASE WHEN left(id, 4) = 'run_' THEN substr(id, 5) ELSE id END),
        entry = model;

      CREATE TABLE predictions (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        fold_index integer NOT NULL CHECK (fold_index >= 0),
        n_rows bigint NOT NULL CHECK (n_rows >= 0),
        width integer NOT NULL CHECK (width >= 1),
        dates bytea NOT NULL CHECK (octet_length(dates) = 4 * n_rows),
        symbol_dictionary jsonb NOT NULL,
        symbol_codes bytea NOT NULL CHECK (octet_length(symbol_codes) = 4 * n_rows),
        scores bytea NOT NULL CHECK (octet_length(scores) = 8 * n_rows * width),
        created_at bigint NOT NULL,
        PRIMARY KEY (run_id, fold_index)
      );
    `,
  },
  // --- Version 3: JSON stored as documents, interruption, heartbeats, resumable predictions, annotations ---
  {
    version: 3,
    description:
      "JSON columns hold documents; status interrupted, heartbeats, notes, reopenings, prediction splits, tags",
    sql: `
      ALTER TABLE studies ${
      ["error", "config", "symbols", "features", "entries", "summary"].map(unwrapJsonb).join(", ")
    };
      ALTER TABLE runs ${["error", "config", "symbols", "summary", "features"].map(unwrapJsonb).join(", ")};
      ALTER TABLE folds ${unwrapJsonb("fit_report")};
      UPDATE folds SET ${["train", "test", "validation", "metrics", "baselines"].map(unwrapJson).join(", ")};
      ALTER TABLE epochs ${unwrapJsonb("extra")};
      ALTER TABLE diagnostics ${unwrapJsonb("data")};
      ALTER TABLE backtests ${["warnings", "details"].map(unwrapJsonb).join(", ")};
      UPDATE backtests SET ${["metrics", "buy_and_hold"].map(unwrapJson).join(", ")};
      UPDATE predictions SET symbol_dictionary = (symbol_dictionary #>> '{}')::jsonb
        WHERE jsonb_typeof(symbol_dictionary) = 'string';

      ${dropStatusChecks("studies")}
      ALTER TABLE studies
        ADD CONSTRAINT studies_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        ADD CONSTRAINT studies_finished_check CHECK ((status = 'running') = (finished_at IS NULL)),
        ADD CONSTRAINT studies_error_check CHECK ((status IN ('failed', 'interrupted')) = (error IS NOT NULL)),
        ADD COLUMN heartbeat_at bigint,
        ADD COLUMN note text,
        ADD COLUMN reopened json NOT NULL DEFAULT '[]';
      ${dropStatusChecks("runs")}
      ALTER TABLE runs
        ADD CONSTRAINT runs_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        ADD CONSTRAINT runs_finished_check CHECK ((status = 'running') = (finished_at IS NULL)),
        ADD CONSTRAINT runs_error_check CHECK ((status IN ('failed', 'interrupted')) = (error IS NOT NULL)),
        ADD COLUMN heartbeat_at bigint,
        ADD COLUMN note text,
        ADD COLUMN reopened json NOT NULL DEFAULT '[]';

      ALTER TABLE predictions
        ADD COLUMN split text NOT NULL DEFAULT 'test' CHECK (split IN ('test', 'validation'));
      ALTER TABLE predictions ALTER COLUMN split DROP DEFAULT;
      ALTER TABLE predictions DROP CONSTRAINT predictions_pkey;
      ALTER TABLE predictions ADD PRIMARY KEY (run_id, fold_index, split);

      CREATE TABLE run_tags (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        tag text NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 64),
        created_at bigint NOT NULL,
        PRIMARY KEY (run_id, tag)
      );
      CREATE INDEX run_tags_by_tag ON run_tags (tag, run_id);
      CREATE TABLE study_tags (
        study_id text NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
        tag text NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 64),
        created_at bigint NOT NULL,
        PRIMARY KEY (study_id, tag)
      );
      CREATE INDEX study_tags_by_tag ON study_tags (tag, study_id);
    `,
  },
  // --- Version 4: production models and predictions, run backtests, sweeps and trials (./schema_production.ts) ---
  POSTGRES_PRODUCTION_MIGRATION,
  // --- Version 5: trials of deleted runs stay counted (./schema_production.ts) ---
  POSTGRES_RETIRED_TRIALS_MIGRATION,
];
