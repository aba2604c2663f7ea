-- Runs once, when the PostgreSQL volume is empty (docker-entrypoint-initdb.d).
-- Each service owns its database; the nodes migrate them on start (RUN_MIGRATIONS=true)
-- and would also create them if missing, so this only saves them the race.
CREATE DATABASE gozon_orders;
CREATE DATABASE gozon_payments;
