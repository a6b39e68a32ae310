"""Runtime configuration, read once from the environment (prefix ``TALENTSYNC_``) and ``.env``.

Every default runs offline with no keys: SQLite under ``./var/`` and the bundled LMS sandbox.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


def _split_secrets(value: object) -> object:
    """Accept a comma-separated list so rotated secrets fit in one environment variable."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


SecretList = Annotated[list[SecretStr], NoDecode]


class Settings(BaseSettings):
    """All settings of the service. The README's settings table mirrors these fields."""

    model_config = SettingsConfigDict(
        env_prefix="TALENTSYNC_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- storage -------------------------------------------------------------------------
    var_dir: Path = Field(DEFAULT_VAR_DIR, description="Where embedded state lives.")
    database_url: str = Field(
        "",
        description="SQLite (sqlite:///path) or PostgreSQL (postgresql://user@host/db); "
        "sqlite:///<var_dir>/talentsync.db when unset, so one TALENTSYNC_VAR_DIR moves all state.",
    )

    # --- LMS -----------------------------------------------------------------------------
    lms_url: str = Field("http://127.0.0.1:8001/v2", description="SCIM 2.0 base URL of the LMS.")
    lms_token: SecretStr | None = Field(None, description="Static bearer token for the LMS.")
    lms_oauth_token_url: str | None = Field(
        None, description="OAuth2 token endpoint; set it to use client credentials."
    )
    lms_oauth_client_id: str | None = None
    lms_oauth_client_secret: SecretStr | None = None
    lms_oauth_scope: str | None = None
    lms_timeout_s: float = Field(10.0, gt=0, description="Per-request timeout.")
    lms_max_retries: int = Field(
        4, ge=0, description="In-request retries on 429/5xx before the event is rescheduled."
    )
    lms_max_retry_after_s: float = Field(
        30.0, gt=0, description="Longest Retry-After honoured inside one attempt."
    )
    lms_bulk: bool = Field(
        True,
        description="Send an event's group membership changes as one SCIM Bulk request when "
        "the LMS's ServiceProviderConfig offers bulk; off: one PATCH per group.",
    )

    # --- webhooks ------------------------------------------------------------------------
    webhook_secrets_standard: SecretList = Field(
        default_factory=list,
        description="Standard Webhooks secrets (whsec_...), comma-separated for rotation.",
    )
    webhook_secrets_bamboohr: SecretList = Field(
        default_factory=list, description="BambooHR webhook HMAC keys, comma-separated."
    )
    webhook_secrets_merge: SecretList = Field(
        default_factory=list, description="Merge webhook signature keys, comma-separated."
    )
    webhook_tolerance_s: int = Field(300, gt=0, description="Allowed clock skew of timestamps.")
    webhook_max_body_bytes: int = Field(256 * 1024, gt=0)

    # --- HRIS clients --------------------------------------------------------------------
    bamboohr_base_url: str = Field(
        "https://api.bamboohr.com/api/gateway.php/example",
        description="BambooHR API base, including the company domain.",
    )
    bamboohr_api_key: SecretStr | None = None

    # --- worker --------------------------------------------------------------------------
    worker_max_attempts: int = Field(
        6, ge=1, description="Attempts per event before it is dead-lettered."
    )
    worker_backoff_base_s: float = Field(2.0, gt=0)
    worker_backoff_max_s: float = Field(300.0, gt=0)
    worker_lease_s: float = Field(
        60.0, gt=0, description="A claimed event returns to the queue if its worker goes silent."
    )
    worker_poll_s: float = Field(0.2, gt=0, description="Idle wait between inbox polls.")
    worker_threads: int = Field(1, ge=1, description="Worker threads started by `serve`.")
    worker_claim_batch: int = Field(
        8,
        ge=1,
        description="Events a worker claims in one query (one per employee) and runs as one "
        "batch, their leases kept alive meanwhile; 1 claims one event at a time.",
    )
    worker_batch_lane: bool = Field(
        True,
        description="Run the events of a batch the catalog rules place (no AI, no review) "
        "together: one LMS search, one POST /Bulk and one commit for the batch, and no "
        "checkpoint (nothing in them is costly to redo). False: every event on a graph run "
        "of its own with its state checkpointed (inspectable with LangGraph tools); slower.",
    )
    worker_prefetch: int = Field(
        32,
        ge=0,
        description="Upcoming queued events whose free text a worker scrubs in one batch "
        "when it reaches one not yet prefetched (NER batched across records); 0 turns it off.",
    )

    # --- mapping -------------------------------------------------------------------------
    catalog_path: Path | None = Field(
        None, description="LMS catalog YAML; the bundled demo catalog when unset."
    )

    review_policy_path: Path | None = Field(
        None, description="Review policy YAML; the bundled default policy when unset."
    )
    review_notify_url: str | None = Field(
        None, description="Slack-compatible incoming webhook told about new and overdue reviews."
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="How people reach this service (links in messages)."
    )
    review_sweep_s: float = Field(
        60.0, gt=0, description="How often overdue reviews are escalated or auto-rejected."
    )
    title_mapper: Literal["embedded", "llm", "off"] = Field(
        "embedded",
        description="What places a title the rules left open: the offline ranker, the LLM "
        "agent, or nobody (the title stays unresolved).",
    )
    ai_auto_apply_confidence: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="AI role choices at or above this confidence are applied; below it they "
        "are held for review.",
    )
    memory_match_similarity: float = Field(
        0.97,
        gt=0.0,
        le=1.0,
        description="Cosine similarity at which an approved title counts as the same title "
        "and its decision is reused without a model call.",
    )
    title_adapter_dir: Path | None = Field(
        None,
        description="Where `talentsync titles fit-adapter` keeps the fitted title adapter; "
        "var_dir/title_adapter when unset.",
    )
    title_adapter_min_approvals: int = Field(
        600,
        ge=1,
        description="Approved mappings from which `titles fit-adapter --from auto` learns the "
        "adapter from them instead of from the catalog's labels (why 600: "
        "tools/titles/adapter_refit.py choose_kind).",
    )
    skill_mapper: Literal["embedded", "off"] = Field(
        "embedded",
        description="What places the skills on an HRIS profile on taxonomy concepts: exact "
        "labels first, then the offline normaliser; or nobody.",
    )
    skills_taxonomy_path: Path | None = Field(
        None,
        description="Skill preferred labels, one a line, with ESCO `*SkillsCollection_en.csv` "
        "files next to it for alt labels; the bundled ESCO skills when unset.",
    )

    # --- LLM (any OpenAI-compatible endpoint) ---------------------------------------------
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1."
    )
    llm_api_key: SecretStr | None = Field(None, description="Key for the LLM endpoint.")
    llm_model: str = Field("gpt-4o-mini", description="Chat model name sent to the endpoint.")
    llm_structured_output: Literal["json_schema", "function_calling", "json_mode"] = Field(
        "function_calling",
        description="How the final choice is requested first; a server that refuses it is "
        "failed over to the next method (json_schema -> function_calling -> json_mode).",
    )
    llm_max_output_tokens: int = Field(
        512,
        ge=16,
        description="Cap on the tokens of each model reply, sent in the field the server "
        "reads (see llm_max_tokens_field): without it a local server generates to its context "
        "limit.",
    )
    llm_max_tokens_field: Literal["auto", "max_tokens", "max_completion_tokens"] = Field(
        "auto",
        description="Request field carrying the output cap. auto: max_completion_tokens for "
        "api.openai.com, max_tokens for any other server (llama.cpp reads only max_tokens; "
        "OpenAI refuses both at once).",
    )
    llm_system_prompt: Literal["auto", "system", "user"] = Field(
        "auto",
        description="Where the prompt's rules go: a system message, the first user turn "
        "(for chat templates that drop system messages), or auto: probe the server once "
        "(prompt_tokens with and without a system message) and fold when it is dropped.",
    )
    llm_timeout_s: float = Field(30.0, gt=0, description="Per-request timeout.")
    llm_max_retries: int = Field(
        2, ge=0, description="Client retries on 429/5xx/timeouts before the event is rescheduled."
    )
    llm_max_tool_rounds: int = Field(
        3, ge=0, description="Tool-calling rounds the agent may take before it must choose."
    )
    llm_prompt: str = Field(
        "title_mapping@1", description="Prompt id@version used by the title agent."
    )

    # --- vector store ---------------------------------------------------------------------
    chroma_url: str | None = Field(
        None,
        description="Chroma server (http://host:port); embedded under var_dir/chroma when unset.",
    )
    embeddings: Literal["offline", "openai"] = Field(
        "offline",
        description="offline: bundled MiniLM on onnxruntime; openai: the endpoint below.",
    )
    embeddings_base_url: str | None = Field(
        None, description="OpenAI-compatible embeddings endpoint (defaults to llm_base_url)."
    )
    embeddings_model: str = Field("text-embedding-3-small")

    # --- operator access ------------------------------------------------------------------
    admin_api_key: SecretStr | None = Field(
        None, description="Bootstrap admin bearer key (role admin); see README for roles."
    )
    oidc_jwks_url: str | None = Field(
        None, description="JWKS of the identity provider; OIDC bearer tokens are refused unset."
    )
    oidc_issuer: str | None = Field(None, description="Required `iss` of OIDC tokens.")
    oidc_audience: str | None = Field(None, description="Required `aud` of OIDC tokens.")
    oidc_roles_claim: str = Field(
        "roles", description="Claim holding role names (list or string; dots walk nested claims)."
    )
    oidc_name_claim: str = Field(
        "preferred_username", description="Claim naming the caller; `sub` when it is missing."
    )
    oidc_leeway_s: float = Field(30.0, ge=0, description="Clock skew allowed on exp/nbf/iat.")

    # --- logging and operations -----------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = Field(
        "console",
        description="console: readable lines on stderr; json: one JSON object per line "
        "(timestamp, level, logger, message, and receipt_id, run_id, subject during a run).",
    )
    metrics_public: bool = Field(
        True,
        description="/metrics answers without credentials (aggregates only: counts, "
        "durations, no ids); false: an admin or auditor bearer credential is required.",
    )
    worker_liveness_s: float = Field(
        300.0,
        gt=0,
        description="A worker's /livez fails when one of its threads has not come round its "
        "loop for this long (one event, LMS retries included, should take far less).",
    )

    # --- personal data -------------------------------------------------------------------
    pii_master_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 bytes; wraps every employee's vault key. Generated under "
        "var_dir/keys when unset (development only).",
    )
    pii_pseudonym_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 bytes; keys the HMAC that turns HRIS ids into pseudonyms. "
        "Generated under var_dir/keys when unset (development only).",
    )
    audit_retention_days: int | None = Field(
        None,
        ge=1,
        description="Inbox payloads and checkpoints of runs finished longer ago than this are "
        "purged by `talentsync audit retention`; unset keeps them forever.",
    )

    _split = field_validator(
        "webhook_secrets_standard",
        "webhook_secrets_bamboohr",
        "webhook_secrets_merge",
        mode="before",
    )(_split_secrets)

    @model_validator(mode="after")
    def _database_under_var_dir(self) -> Settings:
        """The database follows the var dir unless named: pointing TALENTSYNC_VAR_DIR at a
        folder (as the demo's .env does) must not leave the CLI on another database."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'talentsync.db'}"
        return self

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql", "postgres://"))

    @property
    def chroma_path(self) -> Path:
        """Where the embedded Chroma keeps its collections."""
        return self.var_dir / "chroma"

    @property
    def title_adapter_path(self) -> Path:
        """Where the fitted title adapter lives (see tools/titles/adapter_store.py)."""
        return self.title_adapter_dir or self.var_dir / "title_adapter"

    @property
    def checkpoint_path(self) -> Path:
        """Where the SQLite LangGraph checkpointer lives when the database is SQLite."""
        return self.var_dir / "checkpoints.db"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return Settings()
