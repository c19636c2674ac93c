-- Privileges of the application's database role (renewal_desk_app), applied by the migration
-- core.0002_db_roles and again after every `migrate` (core.grants, a post_migrate handler), so
-- tables added by later migrations get theirs. Idempotent: every run revokes and grants afresh.
-- Run by the owner of the schema (renewal_desk_owner); the application role owns nothing, so it
-- can neither alter a table nor touch its triggers.
--
--   ordinary tables           SELECT, INSERT, UPDATE, DELETE
--   the trail                 SELECT, INSERT (audit_operation, every pghistory event table,
--                             pghistory_context): without UPDATE, DELETE and TRUNCATE a session's
--                             `SET pgtrigger.ignore` has nothing left to bypass
--   django_migrations, views  SELECT
--   sequences                 USAGE
--   nowhere                   TRUNCATE, REFERENCES, TRIGGER
--
-- What needs more runs through the SECURITY DEFINER functions below, owned by the owner, each
-- doing one thing with a fixed search_path.

-- The due list was a materialised view refreshed by the owner's function; it is a table the night
-- writes since renewals 0021.
DROP FUNCTION IF EXISTS rd_due_list_refresh();

-- ANALYZE of a table the bulk paths write (ANALYZE needs ownership), from a fixed allow-list.
CREATE OR REPLACE FUNCTION rd_analyze(table_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF table_name IS NULL OR table_name <> ALL (ARRAY['policies_policy', 'policies_policystatuschange',
                                                      'policies_customer', 'billing_installment',
                                                      'reporting_policyslice', 'reporting_dailyfact',
                                                      'reporting_monthlyfact', 'reporting_debitfact',
                                                      'reporting_persistencyfact', 'reporting_slicedayfact',
                                                      'reporting_slicemonthfact', 'reporting_slicedebitfact',
                                                      'reporting_slicepersistencyfact', 'risk_flag',
                                                      'renewals_due_list', 'billing_payment',
                                                      'billing_assignment', 'billing_allocation',
                                                      'policies_agent']) THEN
        RAISE EXCEPTION 'rd_analyze: % is not a table it may analyse', table_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('ANALYZE %I', table_name);
END;
$$;

-- pghistory's context attach (its trigger functions call it for every event), as
-- pghistory.models.Context.install_pgh_attach_context_func writes it, run with the owner's
-- rights: the application role has only SELECT and INSERT on pghistory_context, so a context
-- row's metadata changes through this upsert alone, and only while the context is young (a
-- request or a night's run); an older context, the trail's past, is left as it was.
CREATE OR REPLACE FUNCTION _pgh_attach_context() RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    _pgh_context_id UUID;
    _pgh_context_metadata JSONB;
BEGIN
    BEGIN
        SELECT INTO _pgh_context_id CURRENT_SETTING('pghistory.context_id');
        SELECT INTO _pgh_context_metadata CURRENT_SETTING('pghistory.context_metadata');
        EXCEPTION WHEN OTHERS THEN
    END;
    IF _pgh_context_id IS NOT NULL AND _pgh_context_metadata IS NOT NULL THEN
        INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (_pgh_context_id, _pgh_context_metadata, NOW(), NOW())
            ON CONFLICT (id) DO UPDATE
                SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
                WHERE pghistory_context.metadata != EXCLUDED.metadata
                  AND pghistory_context.created_at > NOW() - interval '1 day';
        RETURN _pgh_context_id;
    ELSE
        RETURN NULL;
    END IF;
END;
$$;

REVOKE EXECUTE ON FUNCTION rd_analyze(text), _pgh_attach_context() FROM PUBLIC;

DO $grants$
DECLARE
    app CONSTANT text := 'renewal_desk_app';
    rel record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app) THEN
        RAISE NOTICE 'role % does not exist: no grants (bin/setup and docker-compose create it)', app;
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app);
    EXECUTE format('GRANT EXECUTE ON FUNCTION rd_analyze(text), _pgh_attach_context() TO %I', app);
    -- tables and sequences created later by this (the migrating) role; the post_migrate run
    -- then narrows the trail's
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
                   app);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO %I', app);
    FOR rel IN
        SELECT c.oid::regclass AS name, c.relkind, c.relname,
               (c.relname IN ('audit_operation', 'pghistory_context')
                OR EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
                           AND a.attname = 'pgh_created_at')) AS trail
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        ORDER BY c.relname
    LOOP
        IF rel.relkind = 'S' THEN
            EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM %I', rel.name, app);
            EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', rel.name, app);
            CONTINUE;
        END IF;
        EXECUTE format('REVOKE ALL ON TABLE %s FROM %I', rel.name, app);
        IF rel.relkind IN ('v', 'm', 'f') OR rel.relname = 'django_migrations' THEN
            EXECUTE format('GRANT SELECT ON TABLE %s TO %I', rel.name, app);
        ELSIF rel.trail THEN
            EXECUTE format('GRANT SELECT, INSERT ON TABLE %s TO %I', rel.name, app);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %I', rel.name, app);
        END IF;
    END LOOP;
END
$grants$;
