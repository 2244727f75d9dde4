# Recommendations: the rebuild, incremental bumps and both reads against the test PostgreSQL and Redis.
emporium_add_test(NAME recommend_itest
    SOURCES integration/recommend_itest.cpp
    LIBS emporium_recommend LABELS integration)
