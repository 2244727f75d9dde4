# Operations: the deployment shape end to end — two `emporium serve` processes behind nginx (its
# configuration generated per test under .local/), one worker and two schedulers, sharing
# PostgreSQL and Redis. Needs /usr/sbin/nginx (scripts/deps.sh installs nginx-light).
emporium_add_test(NAME scaleout_e2e
    SOURCES e2e/scaleout_e2e.cpp
    LIBS emporium_e2e_support emporium_lib LABELS e2e
    CONCURRENCY "LimitsHoldAcrossServers")
add_dependencies(scaleout_e2e emporium)

# README.md's curl tour, run as written against a shop made like `make run`'s (seed, serve,
# worker). Needs bash, curl, jq, openssl and pdftotext.
emporium_add_test(NAME readme_tour_e2e
    SOURCES e2e/readme_tour_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e)
add_dependencies(readme_tour_e2e emporium)
