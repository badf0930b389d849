*** Settings ***
Documentation     Heartbeat/Ping-Pong: the service pings at its configured interval, answers the
...               client's pings, closes clients that stop answering, and leaves responsive idle
...               clients alone.

Library           DateTime
Resource          ../resources/service.resource
Resource          ../resources/protocol.resource

Suite Setup       Use Service Under Test
...                   heartbeat_interval=${HEARTBEAT_INTERVAL}
...                   heartbeat_timeout=${HEARTBEAT_TIMEOUT}
Suite Teardown    Release Service Under Test
Test Setup        Open Authenticated Connection    alias=alice
Test Teardown     Close All Connections

Test Tags         p2    heartbeat


*** Variables ***
${PINGS_TO_MEASURE}    8
${IDLE_INTERVALS}      5


*** Test Cases ***
Server Pings Arrive At The Configured Interval
    [Documentation]    Protects the heartbeat schedule: ${PINGS_TO_MEASURE} pings come one interval apart on
    ...    average (neither slower nor faster than configured), and no gap is longer than the
    ...    interval plus the tolerance (no stall).
    ${wait}    Evaluate    (${PINGS_TO_MEASURE} + 1) * ${HEARTBEAT_INTERVAL} + ${HEARTBEAT_TOLERANCE}
    @{intervals}    Wait For Server Pings    ${PINGS_TO_MEASURE}    timeout=${wait}
    # The service sends each ping one interval after the previous one, so the gaps add up to
    # one interval each. The tolerance covers when the client's reader saw the first and the
    # last ping, and event-loop delays on a loaded machine; with 7 gaps, a schedule off by half
    # an interval per ping (0.1 s or 0.3 s instead of 0.2 s) is off by more than that. A single
    # gap may look short when the ping before it was read late, so only the sum has a lower bound.
    ${gaps}    Get Length    ${intervals}
    ${span}    Evaluate    round(sum($intervals), 3)
    ${expected}    Evaluate    round(${gaps} * ${HEARTBEAT_INTERVAL}, 3)
    Should Be True    abs(${span} - ${expected}) <= ${HEARTBEAT_TOLERANCE}
    ...    msg=${gaps} gaps between pings took ${span} s, expected ${expected} ± ${HEARTBEAT_TOLERANCE} s.
    FOR    ${interval}    IN    @{intervals}
        Should Be True    ${interval} <= ${HEARTBEAT_INTERVAL} + ${HEARTBEAT_TOLERANCE}
        ...    msg=A ping came ${interval} s after the previous one; the interval is ${HEARTBEAT_INTERVAL} s.
    END

Client Ping Gets A Pong Within The Round Trip Budget
    [Documentation]    Protects the client's own liveness check: a WebSocket ping is answered at once.
    ${rtt}    Ping Server    payload=are you there
    ${budget}    Convert Time    ${ROUND_TRIP_BUDGET}
    Should Be True    ${rtt} < ${budget}    msg=The pong took ${rtt} s, over the budget of ${budget} s.

Application Ping Gets A Pong
    [Documentation]    Protects the JSON-level ping that browsers use, since they cannot send
    ...    WebSocket ping frames: ``ping`` is answered by ``pong`` with the same id.
    Send Json Message    {"type": "ping", "id": "hb-1"}
    ${pong}    ${_}    Reply Time Should Be Below    ${ROUND_TRIP_BUDGET}    type=pong    id=hb-1
    Should Not Be Empty    ${pong}[server_time]

Frozen Client Is Disconnected Within Interval Plus Timeout
    [Documentation]    Protects against dead clients holding resources: once the client stops
    ...    answering, the service closes it within heartbeat interval + timeout (+ tolerance).
    Stop Answering Pings
    ${limit}    Evaluate    ${HEARTBEAT_INTERVAL} + ${HEARTBEAT_TIMEOUT} + ${HEARTBEAT_TOLERANCE}
    ${closed}    Wait For Close    ${HEARTBEAT_CLOSE_CODE}    timeout=${limit}
    Should Be Equal    ${closed.closed_by}    server
    Open Connections Of User Should Be    ${USER_NAME}    0

Responsive Idle Client Survives Several Intervals
    [Documentation]    Protects idle but healthy clients: with no keyword running, the background
    ...    reader answers every ping, so ${IDLE_INTERVALS} intervals pass without a close.
    ${idle}    Evaluate    ${IDLE_INTERVALS} * ${HEARTBEAT_INTERVAL} + ${HEARTBEAT_TOLERANCE}
    # Not a wait for anything: the idle time is what this test is about.
    Sleep    ${idle}    reason=No keyword of the library runs meanwhile.
    Connection Should Be Open
    ${details}    Get Connection Details
    Should Be True    ${details.pings_received} >= ${IDLE_INTERVALS}
    ...    msg=Only ${details.pings_received} pings arrived in ${idle} s.
    Echo Should Round Trip    still alive
