#!/usr/bin/env python3
"""TLS: https endpoints are verified, peer and host, always.  A test CA signs
a certificate for 127.0.0.1 and one for another name; a TLS relay in front
of moto serves each.  Without ca_file the unknown CA is refused; with it the
right certificate works and the wrong host name is still refused."""
import os
import socket
import ssl
import subprocess
import threading

from oqtest import Checks, SqlError, psql

c = Checks()
tmp = os.environ["OQ_TEST_TMPDIR"]
os.chmod(tmp, 0o755)  # the server (another OS user) reads ca.pem from here


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_cert(name, san):
    key, csr, crt, ext = (os.path.join(tmp, name + s) for s in (".key", ".csr", ".pem", ".ext"))
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n" % san)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=%s" % name)
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
    return crt, key


ca_key, ca_crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.pem")
openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
        "-out", ca_crt, "-days", "2", "-subj", "/CN=oq test CA")
os.chmod(ca_crt, 0o644)
good = make_cert("good", "IP:127.0.0.1")
wrong = make_cert("wrong", "DNS:wrong.example")

moto_host, moto_port = os.environ["OQ_TEST_ENDPOINT"].split("//")[1].split(":")


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def tls_relay(cert):
    """Terminate TLS on a free port and relay the bytes to moto."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)

    def serve():
        while True:
            conn, _ = lsock.accept()
            try:
                tconn = ctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()  # the client refused our certificate
                continue
            upstream = socket.create_connection((moto_host, int(moto_port)))
            threading.Thread(target=pump, args=(tconn, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, tconn), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return lsock.getsockname()[1]


good_port, wrong_port = tls_relay(good), tls_relay(wrong)


def server(name, port, ca_file=None):
    opts = "bucket 'oq-regress', endpoint 'https://127.0.0.1:%d', max_retries '0'" % port
    if ca_file:
        opts += ", ca_file '%s'" % ca_file
    psql("""\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER %s FOREIGN DATA WRAPPER oq_fdw OPTIONS (%s);
CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (access_key_id :'key', secret_access_key :'secret');
""" % (name, opts, name))


def list_error(name):
    try:
        psql("SELECT count(*) FROM oq_list_objects('%s', 'tasks/')" % name)
        return None
    except SqlError as e:
        return e


server("tls_no_ca", good_port)
err = list_error("tls_no_ca")
c.check(err is not None and err.sqlstate == "HV00N" and "certificate" in err.message.lower(),
        "an unknown CA is refused without ca_file: %s" % err)

server("tls_ca", good_port, ca_crt)
c.check(list_error("tls_ca") is None, "with ca_file the certificate for 127.0.0.1 is accepted")

server("tls_wrong_host", wrong_port, ca_crt)
err = list_error("tls_wrong_host")
c.check(err is not None and err.sqlstate == "HV00N",
        "a certificate for another host is refused even with ca_file: %s" % err)
c.done()
