*** Settings ***
Documentation     Message Queue Persistence: events wait in a durable queue until the client
...               acknowledges them, across disconnects and crashes of the service, and a full queue
...               refuses new events openly instead of dropping any. Zero message loss.

Library           Collections
Resource          ../resources/service.resource
Resource          ../resources/protocol.resource
Resource          ../resources/events.resource

Suite Setup       Start Service With A Queue Limit
Suite Teardown    Release Service Under Test
Test Setup        Open Authenticated Connection    publisher    ${PUBLISHER_NAME}    ${PUBLISHER_PASSWORD}
Test Teardown     Close All Connections

Test Tags         p1    queue


*** Variables ***
${OFFLINE_EVENTS}       1000
${CRASH_EVENTS}         300
${SEEN_BEFORE_CRASH}    100


*** Test Cases ***
Events Published While Offline Arrive In Order After Reconnect
    [Documentation]    Protects the core promise: ${OFFLINE_EVENTS} events published while the client
    ...    is away all arrive, once each and in order, when it comes back.
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    Close Connection    connection=reader
    Publish Events Over WebSocket    ${USER_NAME}    ${OFFLINE_EVENTS}    publisher
    Reconnect    reader
    ${events}    Wait For Events    ${OFFLINE_EVENTS}    connection=reader    timeout=30s
    Events Should Be Complete    ${events}    ${last + 1}    ${last + ${OFFLINE_EVENTS}}
    Acknowledge Events    ${last + ${OFFLINE_EVENTS}}    connection=reader

Acknowledged Events Are Not Delivered Again
    [Documentation]    Protects acknowledgement: after a reconnect only what was not acknowledged
    ...    comes back (acks are cumulative).
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    Publish Events Over HTTP    ${USER_NAME}    10
    Wait For Events    10    connection=reader
    Acknowledge Events    ${last + 6}    connection=reader
    Drop Connection    connection=reader
    Reconnect    reader
    ${again}    Wait For Events    4    connection=reader
    Events Should Be Complete    ${again}    ${last + 7}    ${last + 10}
    Should Not Receive Message    within=300ms    type=event    connection=reader

Unacknowledged Events Survive A Crash Of The Service
    [Documentation]    Protects durability: the service is killed with SIGKILL in the middle of a
    ...    delivery and restarted; every event not acknowledged arrives again and none is lost.
    Service Under Test Must Be Embedded
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    Publish Events Over WebSocket    ${USER_NAME}    ${CRASH_EVENTS}    publisher
    ${before}    Wait For Events    ${SEEN_BEFORE_CRASH}    connection=reader
    Restart Reference Service    graceful=${FALSE}
    Reconnect    reader    timeout=20s
    ${after}    Wait For Events    ${CRASH_EVENTS}    connection=reader    timeout=30s
    ${all}    Combine Lists    ${before}    ${after}
    Events Should Be Complete    ${all}    ${last + 1}    ${last + ${CRASH_EVENTS}}
    Acknowledge Events    ${last + ${CRASH_EVENTS}}    connection=reader

Full Queue Refuses Publishing Without Losing Anything
    [Documentation]    Protects against silent drops: once ${QUEUE_LIMIT} events wait unacknowledged,
    ...    publishing is refused with queue_full; the queued events all arrive, and after the
    ...    acknowledgement publishing works again.
    ${last}    Start From An Empty Queue    reader    ${OTHER_USER_NAME}    ${OTHER_USER_PASSWORD}
    Close Connection    connection=reader
    Publish Events Over WebSocket    ${OTHER_USER_NAME}    ${QUEUE_LIMIT}    publisher
    Publishing Should Be Refused As Queue Full    ${OTHER_USER_NAME}
    Reconnect    reader
    ${events}    Wait For Events    ${QUEUE_LIMIT}    connection=reader    timeout=30s
    Events Should Be Complete    ${events}    ${last + 1}    ${last + ${QUEUE_LIMIT}}
    Should Not Receive Message    within=300ms    type=event    connection=reader
    Acknowledge Events    ${last + ${QUEUE_LIMIT}}    connection=reader
    Publish Event Over HTTP    ${OTHER_USER_NAME}    ${{ {"n": "after the acknowledgement"} }}


*** Keywords ***
Start Service With A Queue Limit
    [Documentation]    Starts the service with the queue limit the tests expect, and the publisher.
    Use Service Under Test    max_queue_length=${QUEUE_LIMIT}
    Open Publisher Session

Publishing Should Be Refused As Queue Full
    [Documentation]    One more event for ``${user}`` must be refused with HTTP 507 and ``queue_full``.
    [Arguments]    ${user}
    VAR    &{one_more}    n=overflow
    ${refusal}    Publish Event Over HTTP    ${user}    ${one_more}    expected_status=507
    Should Be Equal    ${refusal}[error]    queue_full
