-- The schema TalentSync 0.1.0 created on postgresql: the DDL core.schema.create_tables emitted
-- (SQLModel create_all plus the audit triggers) before there were migrations, captured
-- statement by statement. Frozen: tests build an 'old release' database from it.

CREATE TABLE api_key (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	key_prefix VARCHAR(16) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_used_at TIMESTAMP WITH TIME ZONE, 
	revoked_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	UNIQUE (key_hash)
);

CREATE UNIQUE INDEX uq_api_key_active_name ON api_key (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_entry (
	event_id VARCHAR(256), 
	receipt_id VARCHAR(64), 
	subject VARCHAR(68), 
	actor VARCHAR(128) NOT NULL, 
	actor_kind VARCHAR(16) NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	rule VARCHAR(256), 
	confidence FLOAT, 
	before JSON, 
	after JSON, 
	provenance JSON NOT NULL, 
	decision JSON, 
	seq BIGINT NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq)
);

CREATE INDEX ix_audit_event_seq ON audit_entry (event_id, seq);

CREATE INDEX ix_audit_action_seq ON audit_entry (action, seq);

CREATE INDEX ix_audit_at ON audit_entry (at);

CREATE INDEX ix_audit_receipt_seq ON audit_entry (receipt_id, seq);

CREATE INDEX ix_audit_subject_seq ON audit_entry (subject, seq);

CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END $$;

CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
        FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();

CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();

CREATE TABLE inbox_event (
	source VARCHAR(32) NOT NULL, 
	event_id VARCHAR(256) NOT NULL, 
	event_type VARCHAR(64) NOT NULL, 
	employee_external_id VARCHAR(128) NOT NULL, 
	occurred_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	id VARCHAR(40) NOT NULL, 
	payload JSON NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	lease_until TIMESTAMP WITH TIME ZONE, 
	claimed_by VARCHAR(128), 
	last_error TEXT, 
	outcome JSON, 
	received_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_inbox_source_event UNIQUE (source, event_id)
);

CREATE INDEX ix_inbox_employee_order ON inbox_event (employee_external_id, occurred_at);

CREATE INDEX ix_inbox_claim ON inbox_event (status, next_attempt_at);

CREATE TABLE employee_cursor (
	external_id VARCHAR(128) NOT NULL, 
	last_occurred_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_receipt_id VARCHAR(40) NOT NULL, 
	manager_external_id VARCHAR(128), 
	active BOOLEAN NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (external_id)
);

CREATE INDEX ix_employee_cursor_manager_external_id ON employee_cursor (manager_external_id);

CREATE TABLE review (
	receipt_id VARCHAR(40) NOT NULL, 
	interrupt_id VARCHAR(128) NOT NULL, 
	subject VARCHAR(128) NOT NULL, 
	event_type VARCHAR(64) NOT NULL, 
	occurred_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	required_approvals INTEGER NOT NULL, 
	confidence FLOAT, 
	due_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	decided_at TIMESTAMP WITH TIME ZONE, 
	escalated_at TIMESTAMP WITH TIME ZONE, 
	id VARCHAR(40) NOT NULL, 
	rules JSON NOT NULL, 
	flags JSON NOT NULL, 
	request JSON NOT NULL, 
	approvals JSON NOT NULL, 
	comments JSON NOT NULL, 
	pending_edit JSON, 
	resolution JSON, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_review_interrupt UNIQUE (receipt_id, interrupt_id)
);

CREATE INDEX ix_review_subject ON review (subject);

CREATE INDEX ix_review_status ON review (status);

CREATE INDEX ix_review_receipt_id ON review (receipt_id);

CREATE INDEX ix_review_status_created ON review (status, created_at);

CREATE TABLE vault_key (
	subject VARCHAR(128) NOT NULL, 
	wrapped_key BYTEA NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (subject)
);

CREATE TABLE vault_entry (
	id VARCHAR(32) NOT NULL, 
	subject VARCHAR(128) NOT NULL, 
	label VARCHAR(256) NOT NULL, 
	nonce BYTEA NOT NULL, 
	ciphertext BYTEA NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_vault_subject_label UNIQUE (subject, label)
);

CREATE INDEX ix_vault_entry_subject ON vault_entry (subject);

