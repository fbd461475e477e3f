"""A DS certificate checked with Python `cryptography` as a verifier would, with DTS material.

Usage: verify_ds.py ANCHORS.pem INTERMEDIATES.pem CRLS.pem DS.pem
Prints "OK <chain length>" (exit 0) or "FAIL <reason>" (exit 1).

The path: `cryptography.x509.verification` with every IACA generation in the store (its verifier
counts a self-issued link against pathLenConstraint 0, so a link alone does not cross a re-key).
The extension policy accepts the DS profile (EKU 1.0.18013.5.1.2, no SAN). Revocation: the
verifier has no CRL support, so the CRL is checked here as RFC 5280 6.3.3 says: a list whose
AKI is the issuer's SKI, signed by the issuer's key, current, and not listing the serial.
"""
import datetime
import sys

from cryptography import x509
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store


def main(anchors_pem, intermediates_pem, crls_pem, ds_pem):
    now = datetime.datetime.now(datetime.timezone.utc)
    anchors = x509.load_pem_x509_certificates(open(anchors_pem, "rb").read())
    intermediates = x509.load_pem_x509_certificates(open(intermediates_pem, "rb").read())
    leaf = x509.load_pem_x509_certificate(open(ds_pem, "rb").read())
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(now)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        chain = verifier.verify(leaf, intermediates).chain
    except Exception as e:  # the verifier's own error says why
        return f"FAIL path: {e}"
    issuer = chain[1]
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    for crl in load_crls(crls_pem):
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        if aki != ski or not crl.is_signature_valid(issuer.public_key()):
            continue
        if crl.next_update_utc is None or crl.next_update_utc <= now:
            return "FAIL the issuer's CRL is not current"
        if crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None:
            return "FAIL revoked"
        return f"OK {len(chain)}"
    return "FAIL no CRL signed by the issuer's key"


def load_crls(path):
    text = open(path, "rb").read()
    marker = b"-----END X509 CRL-----"
    return [x509.load_pem_x509_crl(part + marker) for part in text.split(marker) if part.strip()]


if __name__ == "__main__":
    result = main(*sys.argv[1:5])
    print(result)
    sys.exit(0 if result.startswith("OK") else 1)
