-- The demo's sample conversation schema: tenants, users, conversations and messages, as an
-- AI-assistant product would keep them.
CREATE SCHEMA demo;

CREATE TABLE demo.tenants (
  tenant_id   text PRIMARY KEY,
  name        text NOT NULL,
  region      text NOT NULL CHECK (region IN ('US', 'EU'))
);

CREATE TABLE demo.users (
  user_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES demo.tenants,
  email       text NOT NULL,
  full_name   text NOT NULL
);

CREATE TABLE demo.conversations (
  conversation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES demo.tenants,
  user_id     bigint NOT NULL REFERENCES demo.users,
  title       text NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE demo.messages (
  message_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES demo.conversations ON DELETE CASCADE,
  tenant_id   text NOT NULL REFERENCES demo.tenants,
  role        text NOT NULL CHECK (role IN ('user', 'assistant')),
  body        text NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX ON demo.messages (tenant_id, created_at);
