-- Schemas of the ngss warehouse: core (canonical facts and dimensions), marts (analysis),
-- ops (load log, validation results, quarantine). Raw files live in the archive folder.
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS ops;
