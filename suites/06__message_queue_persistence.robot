*** Settings ***
Documentation     Message Queue Persistence: events wait in a durable queue until the client
...               acknowledges them, across disconnects and crashes of the service, and a full queue
...               refuses new events openly instead of dropping any. Zero message loss.

Resource          ../resources/service.resource
Resource          ../resources/protocol.resource
Resource          ../resources/events.resource

Suite Setup       Start Service With A Queue Limit
Suite Teardown    Release Service Under Test
Test Setup        Open Authenticated Connection    publisher    ${PUBLISHER_NAME}    ${PUBLISHER_PASSWORD}
Test Teardown     Close All Connections

Test Tags         p1    queue


*** Variables ***
${OFFLINE_EVENTS}       ${1000}
${CRASH_EVENTS}         ${300}
${SEEN_BEFORE_CRASH}    ${100}


*** Test Cases ***
Events Published While Offline Arrive In Order After Reconnect
    [Documentation]    Protects the core promise: ${OFFLINE_EVENTS} events published while the client
    ...    is away all arrive, once each and in order, when it comes back.
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    Close Connection    connection=reader
    Publish Events Over WebSocket    ${USER_NAME}    ${OFFLINE_EVENTS}    publisher
    Reconnect    reader
    Wait For Event Seqs    ${last + 1}    ${last + ${OFFLINE_EVENTS}}    connection=reader
    ...    timeout=30s    duplicates=fail    ordered=${TRUE}
    Acknowledge Events    ${last + ${OFFLINE_EVENTS}}    connection=reader

Acknowledged Events Are Not Delivered Again
    [Documentation]    Protects acknowledgement: after a reconnect only what was not acknowledged
    ...    comes back (acks are cumulative).
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    Publish Events Over HTTP    ${USER_NAME}    10
    Wait For Event Seqs    ${last + 1}    ${last + 10}    connection=reader
    Acknowledge Events    ${last + 6}    connection=reader
    Drop Connection    connection=reader
    Reconnect    reader
    Wait For Event Seqs    ${last + 7}    ${last + 10}    connection=reader
    ...    duplicates=fail    ordered=${TRUE}
    Should Not Receive Message    within=300ms    type=event    connection=reader

Unacknowledged Events Survive A Crash Of The Service
    [Documentation]    Protects durability: the service is killed with SIGKILL in the middle of a
    ...    delivery and restarted; every event not acknowledged arrives again and none is lost.
    ...    Where the kill lands varies from run to run; the next test pins it down.
    Service Under Test Must Be Embedded
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    Publish Events Over WebSocket    ${USER_NAME}    ${CRASH_EVENTS}    publisher
    Wait For Event Seqs    ${last + 1}    ${last + ${SEEN_BEFORE_CRASH}}    connection=reader
    Restart Reference Service    graceful=${FALSE}
    Reconnect    reader    timeout=20s
    Wait For Event Seqs    ${last + 1}    ${last + ${CRASH_EVENTS}}    connection=reader    timeout=30s
    Acknowledge Events    ${last + ${CRASH_EVENTS}}    connection=reader

No Event Is Lost Wherever The Crash Lands
    [Documentation]    Protects durability whatever the client had when the service died: the kill
    ...    comes when the reader has received exactly the given number of the ${CRASH_EVENTS} events
    ...    (${SEEN_BEFORE_CRASH} of them taken, the rest still in its inbox). After the restart the
    ...    events kept from before come first and every unacknowledged one arrives again.
    [Template]    Crash With Events Received Should Lose None
    ${SEEN_BEFORE_CRASH}
    ${{ (${SEEN_BEFORE_CRASH} + ${CRASH_EVENTS}) // 2 }}
    ${CRASH_EVENTS}

Full Queue Refuses Publishing Without Losing Anything
    [Documentation]    Protects against silent drops: once ${QUEUE_LIMIT} events wait unacknowledged,
    ...    publishing is refused with queue_full; the queued events all arrive, and after the
    ...    acknowledgement publishing works again.
    ${last}    Start From An Empty Queue    reader    ${OTHER_USER_NAME}    ${OTHER_USER_PASSWORD}
    Close Connection    connection=reader
    Publish Events Over WebSocket    ${OTHER_USER_NAME}    ${QUEUE_LIMIT}    publisher
    Publishing Should Be Refused As Queue Full    ${OTHER_USER_NAME}
    Reconnect    reader
    Wait For Event Seqs    ${last + 1}    ${last + ${QUEUE_LIMIT}}    connection=reader
    ...    timeout=30s    duplicates=fail    ordered=${TRUE}
    Should Not Receive Message    within=300ms    type=event    connection=reader
    Acknowledge Events    ${last + ${QUEUE_LIMIT}}    connection=reader
    Publish Event Over HTTP    ${OTHER_USER_NAME}    ${{ {"n": "after the acknowledgement"} }}

A Retried Publish With The Same Key Is Delivered Once
    [Documentation]    Protects against duplicates from retries: a publisher that lost the answer
    ...    publishes again with the same idempotency key, over HTTP and over the WebSocket; the
    ...    event is stored and delivered once, and every answer names the same seq.
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    ${key}    Evaluate    f"retry-{uuid.uuid4()}"
    VAR    &{data}    n=retried
    ${first}    Publish Event Over HTTP    ${USER_NAME}    ${data}    idempotency_key=${key}
    Should Be Equal    ${first}[deliveries][0][seq]    ${last + 1}
    Retries With The Key Should Get The First Answer    ${data}    ${key}    ${first}
    Wait For Event Seqs    ${last + 1}    ${last + 1}    connection=reader
    Should Not Receive Message    within=300ms    type=event    connection=reader
    Acknowledge Events    ${last + 1}    connection=reader


*** Keywords ***
Start Service With A Queue Limit
    [Documentation]    Starts the service with the queue limit the tests expect, and the publisher.
    ...    The publisher fills a queue over one connection, back to back: the per-connection
    ...    message rate limit lets a burst of twice the queue limit through.
    Use Service Under Test    max_queue_length=${QUEUE_LIMIT}
    ...    max_message_burst=${{ 2 * int($QUEUE_LIMIT) }}
    Open Publisher Session

Retries With The Key Should Get The First Answer
    [Documentation]    Publishing ``${data}`` to the user again with ``${key}``, over HTTP and over
    ...    the WebSocket, must be answered with the deliveries of ``${first}``.
    [Arguments]    ${data}    ${key}    ${first}
    ${retry}    Publish Event Over HTTP    ${USER_NAME}    ${data}    idempotency_key=${key}
    Should Be Equal    ${retry}    ${first}
    ${over_ws}    Publish Event    ${data}    user=${USER_NAME}    connection=publisher
    ...    idempotency_key=${key}
    Should Be Equal    ${over_ws}[deliveries]    ${first}[deliveries]

Publishing Should Be Refused As Queue Full
    [Documentation]    One more event for ``${user}`` must be refused with HTTP 507 and ``queue_full``.
    [Arguments]    ${user}
    VAR    &{one_more}    n=overflow
    ${refusal}    Publish Event Over HTTP    ${user}    ${one_more}    expected_status=507
    Should Be Equal    ${refusal}[error]    queue_full

Crash With Events Received Should Lose None
    [Documentation]    Kills the service when the reader has received ``${received}`` of the
    ...    ${CRASH_EVENTS} events, all stored, and checks that every one arrives after the restart.
    ...    To pin the moment down, the reader goes offline once it has ``${received}``, and the
    ...    rest are published while it is away: at the kill its inbox holds exactly those events.
    [Arguments]    ${received}
    Service Under Test Must Be Embedded
    ${last}    Start From An Empty Queue    reader    ${USER_NAME}    ${USER_PASSWORD}
    Publish Events Over WebSocket    ${USER_NAME}    ${received}    publisher
    Reader Goes Offline Holding Events    ${last}    ${received}
    IF    ${received} < ${CRASH_EVENTS}
        Publish Events Over WebSocket    ${USER_NAME}    ${CRASH_EVENTS - ${received}}    publisher
        ...    first=${received + 1}
    END
    Restart Reference Service    graceful=${FALSE}
    Reconnect    reader    timeout=20s
    Reconnect    publisher    timeout=20s
    Wait For Event Seqs    ${last + 1}    ${last + ${CRASH_EVENTS}}    connection=reader    timeout=30s
    Acknowledge Events    ${last + ${CRASH_EVENTS}}    connection=reader

Reader Goes Offline Holding Events
    [Documentation]    The reader takes the first ${SEEN_BEFORE_CRASH} events after ``${last}``, waits until
    ...    the rest up to ``${received}`` are in its inbox, untaken, and closes its connection.
    [Arguments]    ${last}    ${received}
    Wait For Event Seqs    ${last + 1}    ${last + ${SEEN_BEFORE_CRASH}}    connection=reader
    Wait Until Keyword Succeeds    ${TIMEOUT}    20ms
    ...    Inbox Should Hold Events    ${received - ${SEEN_BEFORE_CRASH}}    connection=reader
    Close Connection    connection=reader

Inbox Should Hold Events
    [Documentation]    The connection's inbox holds exactly ``${count}`` unconsumed events.
    [Arguments]    ${count}    ${connection}
    @{inbox}    Get Inbox    connection=${connection}
    ${events}    Evaluate    [m for m in $inbox if isinstance(m, dict) and m.get("type") == "event"]
    Length Should Be    ${events}    ${count}
    ...    msg=The inbox of ${connection} holds ${{ len($events) }} events, expected ${count}.
