-- docker-compose.yml: run once by the postgres image on an empty data directory (mounted into
-- /docker-entrypoint-initdb.d), as the image's superuser. The two roles of README "Database
-- roles" and the database, owned by the owner; migrate (the compose `migrate` service, as the
-- owner) creates the schema and applies core/sql/grants.sql. The passwords match the URLs in
-- docker-compose.yml: change both together for a real deployment.
CREATE ROLE renewal_desk_owner LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD 'renewal_desk_owner';
CREATE ROLE renewal_desk_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'renewal_desk_app';
CREATE DATABASE renewal_desk OWNER renewal_desk_owner;
