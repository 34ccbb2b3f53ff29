#!/usr/bin/env bash
# Used as OPENSSL_SRC_PERL by scripts/release-build.sh (Linux release builds):
# the `perl` that openssl-src runs. When it runs OpenSSL's ./Configure, it adds
# options that leave out what this package never uses, so that the addon stays
# under 8 MB: OpenSSL serves only libgit2's HTTPS client (when no git CLI is
# installed) and the redirect probe, i.e. TLS 1.2/1.3 client connections with
# certificate verification. Left out: assembly (a few hundred KB of AVX-512
# AES-GCM and the like; plain C is plenty for a state file's traffic), legacy
# and national ciphers and hashes, post-quantum signatures and KEMs, DSA/DH,
# TLS 1.0/1.1, DTLS, QUIC, CMS/CMP/OCSP/CT/TS/SRP/PSK. Every other perl run
# (OpenSSL's make steps) is passed on unchanged.
if [ "${1:-}" = "./Configure" ]; then
  exec perl "$@" \
    no-asm no-argon2 no-aria no-bf no-blake2 no-cast no-cmp no-cms no-des no-dsa no-dtls \
    no-ec2m no-gost no-lms no-md4 no-mdc2 no-ml-dsa no-ml-kem no-ocb no-quic no-rc2 no-rc4 \
    no-rmd160 no-scrypt no-siphash no-siv no-slh-dsa no-sm2 no-sm3 no-sm4 no-srp no-srtp \
    no-ts no-whirlpool no-ocsp no-ct no-http no-dh no-tls1 no-tls1_1 no-multiblock \
    no-ssl-trace no-psk no-rfc3779
fi
exec perl "$@"
