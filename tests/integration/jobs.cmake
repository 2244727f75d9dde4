# Background jobs: unit tests of the retry arithmetic, schedules and encoding; integration tests
# of the queues, worker, outbox relay, scheduler and order documents against the test PostgreSQL
# and Redis; end-to-end tests with real serve, worker and scheduler processes and a real SMTP server.
emporium_add_test(NAME jobs_test
    SOURCES unit/jobs_test.cpp
    LIBS emporium_jobs LABELS unit)
emporium_add_test(NAME jobs_itest
    SOURCES integration/jobs_itest.cpp
    LIBS emporium_jobs emporium_notify_service emporium_orders LABELS integration
    CONCURRENCY "TwoRelays" "TwoSchedulers" "SchedulerThatTakesOver" "DeadConsumerAreReclaimed"
                "KeptVisibleByTheHeartbeat" "HoweverOftenTheJobsRun")
emporium_add_test(NAME jobs_e2e
    SOURCES e2e/jobs_e2e.cpp
    LIBS emporium_e2e_support emporium_lib LABELS e2e
    CONCURRENCY "WorkerKilledMidJob" "SigtermLetsRunningJobsFinish")
add_dependencies(jobs_e2e emporium)
