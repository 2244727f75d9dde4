# The co-occurrence core (pure CPU, no I/O), shared by the batch builder and the offline evaluator
# (`emporium recommend evaluate`).
add_library(emporium_recommend_core ${EMPORIUM_LIBRARY_TYPE} basket_stream.cpp cooccurrence.cpp evaluate.cpp)
target_link_libraries(emporium_recommend_core PUBLIC emporium_core PRIVATE emporium_options)
