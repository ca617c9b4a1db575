# The TCP host tests (kernel/net/tcp, its sources listed in CMakeLists.txt): two engines on a segment-level simulated wire with a
# virtual clock (tcp_test_network.*). Included from tests/unit/net/CMakeLists.txt.
add_executable(tcp_unit_tests
  ${NIMBUS_TCP_KERNEL_SOURCES}
  ${NIMBUS_NET_KERNEL_SOURCES}
  ${PROJECT_SOURCE_DIR}/tests/unit/fakes/sync_fake.cc
  ${PROJECT_SOURCE_DIR}/kernel/net/socket.cc
  tcp_test_network.cc
  tcp_test_util.cc
  tcp_header_test.cc
  tcp_connection_test.cc
  tcp_recovery_test.cc
  tcp_listener_test.cc
  tcp_socket_test.cc
  tcp_fuzz_test.cc
  tcp_stack_test.cc
  tcp_blocking_test.cc
  tcp_edge_test.cc
  tcp_segmentation_test.cc
)
target_include_directories(tcp_unit_tests PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_options(tcp_unit_tests PRIVATE -Wall -Wextra)
target_link_libraries(tcp_unit_tests PRIVATE net_test_support GTest::gtest_main)
if(NIMBUS_SANITIZE)
  target_compile_options(tcp_unit_tests PRIVATE ${NIMBUS_SANITIZER_FLAGS})
  target_link_options(tcp_unit_tests PRIVATE ${NIMBUS_SANITIZER_FLAGS})
endif()
gtest_discover_tests(tcp_unit_tests PROPERTIES LABELS unit)
