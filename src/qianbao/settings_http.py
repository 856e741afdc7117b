"""HTTP listener settings: ``QIANBAO_HTTP__*``. Part of :mod:`qianbao.settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=1_048_576, description="Largest request body accepted.")
    max_upload_bytes: int = Field(
        default=10_485_760, description="Largest multipart upload accepted."
    )
    public_url: str | None = Field(
        default=None,
        description="The address people and outside services reach this deployment at "
        "(https://wallet.example.com): behind a reverse proxy, for links in e-mails and for "
        "external payment providers. Unset: a request's own origin where there is a request, "
        "else http://<host>:<port> (localhost when listening on every interface).",
    )
    https: bool = Field(default=False, description="Serve behind TLS: Secure cookies and HSTS.")
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    workers: int = 1
    max_in_flight: int = Field(
        default=16,
        description="Requests one web process works on at once; more wait up to "
        "admission_wait_ms, then get 503 service.unavailable with Retry-After (0: no limit).",
    )
    admission_wait_ms: int = Field(
        default=250, description="How long a request may wait for a place before the 503."
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        value = (value or "").strip().rstrip("/")
        return value or None

    @property
    def base_url(self) -> str:
        """Where this deployment is reached without a request at hand (jobs calling back into
        the service, e-mails): the public URL when one is set, else ``http://<host>:<port>`` of
        the listener (``localhost`` for a wildcard host such as 0.0.0.0)."""
        if self.public_url:
            return self.public_url
        host = self.host.strip().strip("[]")
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding to it
            host = "localhost"
        elif ":" in host:  # an IPv6 address
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def site_url(self, request_origin: str | None = None) -> str:
        """The absolute base for a link that must leave the site (an external provider's
        return URL, a transcript): the public URL when set, else the origin the request came
        in on (``scheme://host[:port]``), else ``base_url``. No trailing slash."""
        if self.public_url:
            return self.public_url
        if request_origin:
            return request_origin.rstrip("/")
        return self.base_url
