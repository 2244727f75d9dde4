# The offline recommendation evaluator: basket-file parsing, the reproducible split, the scores and
# metrics, and a planted basket file (tests/data/baskets_planted.csv). Pure CPU, no servers.
emporium_add_test(NAME recommend_eval_test
    SOURCES unit/recommend_eval_test.cpp unit/recommend_counter_test.cpp
    LIBS emporium_recommend_core LABELS unit)
