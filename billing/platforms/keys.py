"""Key material of the platforms: what a merchant holds (its private keys, WeChat Pay's API v3
key and certificate serial) and, for the local fakes, what the platforms hold (Alipay's private
key, WeChat Pay's platform key and certificate). Generated for tests and bin/dev; production
reads the merchant's keys from the environment (settings ALIPAY_* / WECHATPAY_*)."""

from __future__ import annotations

import datetime as dt
import secrets
import string
from dataclasses import dataclass, fields
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _private_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _certificate(key, *, common_name: str, serial: int) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=5 * 365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class PlatformKeys:
    alipay_app_private: str
    alipay_app_public: str
    alipay_private: str  # the fake Alipay's
    alipay_public: str
    wechatpay_merchant_private: str
    wechatpay_merchant_public: str
    wechatpay_merchant_serial: str
    wechatpay_platform_private: str  # the fake WeChat Pay's
    wechatpay_platform_cert: str
    wechatpay_platform_serial: str
    wechatpay_apiv3_key: str

    @classmethod
    def generate(cls) -> PlatformKeys:
        app, ali, merchant, platform = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                                        for _ in range(4))
        platform_serial = secrets.randbits(120) | 1 << 119
        merchant_serial = f"{secrets.randbits(120) | 1 << 119:X}"
        return cls(
            alipay_app_private=_private_pem(app), alipay_app_public=_public_pem(app),
            alipay_private=_private_pem(ali), alipay_public=_public_pem(ali),
            wechatpay_merchant_private=_private_pem(merchant), wechatpay_merchant_public=_public_pem(merchant),
            wechatpay_merchant_serial=merchant_serial,
            wechatpay_platform_private=_private_pem(platform),
            wechatpay_platform_cert=_certificate(platform, common_name="Tenpay.com Root CA", serial=platform_serial),
            wechatpay_platform_serial=f"{platform_serial:X}",
            wechatpay_apiv3_key="".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32)),
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for field in fields(self):
            path = directory / _file_name(field.name)
            path.write_text(getattr(self, field.name))
            path.chmod(0o600)

    @classmethod
    def load(cls, directory: Path) -> PlatformKeys:
        return cls(**{field.name: (directory / _file_name(field.name)).read_text() for field in fields(cls)})

    @classmethod
    def ensure(cls, directory: Path) -> PlatformKeys:
        """The development keys in `directory`, made the first time (bin/dev's fakes and the web
        server read the same files)."""
        try:
            return cls.load(directory)
        except FileNotFoundError:
            keys = cls.generate()
            keys.save(directory)
            return keys

    def settings(self) -> dict:
        """The merchant's side as the settings name it (the tests override these)."""
        return {"ALIPAY_APP_PRIVATE_KEY": self.alipay_app_private, "ALIPAY_PUBLIC_KEY": self.alipay_public,
                "WECHATPAY_PRIVATE_KEY": self.wechatpay_merchant_private,
                "WECHATPAY_CERT_SERIAL_NO": self.wechatpay_merchant_serial,
                "WECHATPAY_APIV3_KEY": self.wechatpay_apiv3_key}


def _file_name(field: str) -> str:
    return f"{field}.pem" if field.endswith(("private", "public", "cert")) else f"{field}.txt"
