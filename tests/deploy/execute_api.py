"""Serves `https://{api}.execute-api.{region}.amazonaws.com/{stage}/...` on loopback, which moto does not.

An HTTPS CONNECT proxy with its own certificate authority: clients get HTTPS_PROXY, NO_PROXY for loopback and
REQUESTS_CA_BUNDLE; the proxy terminates TLS for execute-api hosts with a certificate its CA signs, turns each
request into the REST API (v1) proxy event API Gateway would send, and invokes the function the REST API's
integration names through the emulator's Lambda Invoke. Other hosts are refused (nothing leaves loopback).
"""
import base64
import datetime
import http.server
import json
import re
import socketserver
import ssl
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = re.compile(r"^([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")


def certificates_write(directory: Path, region: str) -> tuple[Path, Path, Path]:
    """Writes a CA and a leaf for `*.execute-api.<region>.amazonaws.com`; returns (ca.pem, leaf.pem, leaf.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "taskapi deploy rehearsal CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    host = f"*.execute-api.{region}.amazonaws.com"
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class _Gateway(http.server.BaseHTTPRequestHandler):
    """One client connection: CONNECT, then HTTP requests inside TLS, each answered by the stage's function."""
    protocol_version = "HTTP/1.1"
    server: "ExecuteApiProxy"

    def log_message(self, format, *args):
        pass

    def do_CONNECT(self):
        host, _, port = self.path.partition(":")
        if not HOST.match(host) or port != "443":
            self.send_error(403, f"only https://*.execute-api.*.amazonaws.com is served here, not {self.path}")
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):  # the client does not trust this proxy's CA: nothing to serve
            self.close_connection = True
            return
        self.connection = self.tls_socket = tls
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")
        self.tunnel_host = host
        self.close_connection = False
        while not self.close_connection:
            self.handle_one_request()

    def finish(self):
        super().finish()
        if getattr(self, "tls_socket", None) is not None:  # the TLS socket owns the connection's descriptor now
            self.tls_socket.close()

    def _api_request(self):
        host = getattr(self, "tunnel_host", None)
        if host is None:
            self.send_error(400, "plain HTTP is not served; use HTTPS through this proxy")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.answer(host, self.command, self.path, dict(self.headers), body)
        self.send_response(status)
        for name, values in headers.items():
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _api_request


class ExecuteApiProxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The proxy on 127.0.0.1:`port`; `endpoint` is the emulator holding the REST APIs and functions."""
    daemon_threads = True

    def __init__(self, port: int, endpoint: str, certificates: tuple[Path, Path, Path]):
        super().__init__(("127.0.0.1", port), _Gateway)
        self.endpoint = endpoint
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(certificates[1], certificates[2])
        self.requests: list[tuple[str, str, int]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> "ExecuteApiProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def answer(self, host: str, method: str, target: str, headers: dict, body: bytes):
        """Returns (status, headers, body) as API Gateway would for this request."""
        api_id, region = HOST.match(host).groups()
        clients = {"endpoint_url": self.endpoint, "region_name": region}
        gateway = boto3.client("apigateway", **clients)
        path, _, query = target.partition("?")
        stage, _, rest = path.lstrip("/").partition("/")
        try:
            gateway.get_stage(restApiId=api_id, stageName=stage)
            resources = gateway.get_resources(restApiId=api_id, embed=["methods"])["items"]
        except gateway.exceptions.NotFoundException:
            self.requests.append((method, target, 403))
            return 403, {"Content-Type": ["application/json"]}, b'{"message":"Forbidden"}'
        resource_path = "/" if not rest else "/{proxy+}"
        resource = next((r for r in resources if r["path"] == resource_path), None)
        integration = ((resource or {}).get("resourceMethods") or {}).get("ANY", {}).get("methodIntegration")
        if not integration:
            self.requests.append((method, target, 403))
            return 403, {"Content-Type": ["application/json"]}, b'{"message":"Missing Authentication Token"}'
        function = re.search(r"functions/(arn:[^/]+)/invocations", integration["uri"]).group(1)
        event = self._event(api_id, host, stage, method, "/" + rest, resource_path, query, headers, body)
        answer = boto3.client("lambda", **clients).invoke(FunctionName=function, Payload=json.dumps(event))
        result = json.loads(answer["Payload"].read())
        if answer.get("FunctionError") or not isinstance(result, dict) or "statusCode" not in result:
            self.requests.append((method, target, 502))
            return 502, {"Content-Type": ["application/json"]}, b'{"message": "Internal server error"}'
        out = {name: list(values) for name, values in (result.get("multiValueHeaders") or {}).items()}
        for name, value in (result.get("headers") or {}).items():
            out.setdefault(name, [value])
        payload = result.get("body") or ""
        payload = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        self.requests.append((method, target, result["statusCode"]))
        return result["statusCode"], out, payload

    @staticmethod
    def _event(api_id, host, stage, method, path, resource_path, query, headers, body) -> dict:
        """The REST API proxy integration event (payload 1.0) API Gateway sends for this request."""
        pairs = parse_qsl(query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in pairs:
            multi_query.setdefault(name, []).append(value)
        headers = {**headers, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
        try:
            text, encoded = body.decode(), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        return {
            "resource": resource_path, "path": path, "httpMethod": method,
            "headers": headers, "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": {"proxy": path.lstrip("/")} if resource_path != "/" else None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource_path, "httpMethod": method, "path": f"/{stage}{path}",
                "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": stage,
                "domainPrefix": api_id, "requestTimeEpoch": int(time.time() * 1000),
                "requestId": str(uuid.uuid4()), "domainName": host, "apiId": api_id,
                "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            },
            "body": text if body else None, "isBase64Encoded": encoded,
        }

    @staticmethod
    def client_environment(port: int, ca: Path) -> dict[str, str]:
        """The variables that send a client's HTTPS through this proxy and make it trust the proxy's CA."""
        proxy = f"http://127.0.0.1:{port}"
        return {"HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost", "REQUESTS_CA_BUNDLE": str(ca), "SSL_CERT_FILE": str(ca)}

