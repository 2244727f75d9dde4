# Notifications: MIME rendering, quoted-printable, HTML escaping, money formatting, the PDF
# receipt (checked with poppler's pdftotext/pdfinfo when installed) and the spool mailer; then
# real SMTP delivery to a private aiosmtpd server (Debian's python3-aiosmtpd, started by the test).
emporium_add_test(NAME notify_test
    SOURCES unit/notify_test.cpp
    LIBS emporium_notify LABELS unit)
emporium_add_test(NAME notify_smtp_itest
    SOURCES integration/notify_smtp_itest.cpp
    LIBS emporium_notify LABELS integration)
