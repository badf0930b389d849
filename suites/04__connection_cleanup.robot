*** Settings ***
Documentation     Connection Cleanup: however a connection ends (a normal close, a dropped TCP
...               connection, a client that stops answering pings), the service forgets it and
...               the client process gets its threads and sockets back. No ghost connections.

Resource          ../resources/service.resource
Resource          ../resources/protocol.resource

Suite Setup       Use Service Under Test
...                   heartbeat_interval=${HEARTBEAT_INTERVAL}
...                   heartbeat_timeout=${HEARTBEAT_TIMEOUT}
...                   max_connections_per_user=${MAX_CONNECTIONS_PER_USER}
Suite Teardown    Release Service Under Test
Test Setup        Take Baselines
Test Teardown     Close All Connections

Test Tags         p0    cleanup


*** Variables ***
# A slower heartbeat than the default: only the frozen-client test needs one at all, and a
# 0.2 s pong deadline can close healthy connections on a loaded machine.
${HEARTBEAT_INTERVAL}          0.5
${HEARTBEAT_TIMEOUT}           1
${CYCLES}                      200
# Cycles before the memory baseline: a fresh service (as with --testlevelsplit) grows by some
# 5 MiB over its first connections while it loads code and fills caches.
${WARM_UP_CYCLES}              20
# Growth of the service's resident memory allowed per cycle after the warm-up. Measured on the
# reference service: 0.4 KiB per cycle (allocator pages), so 20 KiB per cycle passes a healthy
# service with room. Checked with leaks planted in the service: one that keeps 50 KiB of every
# closed connection fails (measured 40 KiB a cycle), 100 KiB fails; 25 KiB can hide in heap
# that the warm-up freed, so RSS alone does not find leaks that small.
${SERVICE_MEMORY_PER_CYCLE}    ${{ 20 * 1024 }}
# Growth of the client's traced memory allowed: Robot Framework keeps the results of every
# keyword run in memory, about 15 KiB per cycle; the library's own objects must all be gone.
${CLIENT_MEMORY_BUDGET}        ${{ 8 * 1024 * 1024 }}


*** Test Cases ***
Normal Close Leaves Nothing Behind
    [Documentation]    Protects the common path: after a closing handshake the service and the
    ...    client are exactly where they started.
    Open Counted Connection
    Echo Should Round Trip    before closing
    Close Connection
    Everything Should Be Back To Baseline

Dropped TCP Connection Is Removed By The Service
    [Documentation]    Protects against ghost connections when a client vanishes with a TCP close
    ...    and no close frame (a crashed tab, a killed process).
    Open Counted Connection
    Drop Connection    fin
    Everything Should Be Back To Baseline

Reset TCP Connection Is Removed By The Service
    [Documentation]    Protects against ghost connections when the network resets the connection.
    Open Counted Connection
    Drop Connection    reset
    Everything Should Be Back To Baseline

Frozen Client Is Closed By The Heartbeat
    [Documentation]    Protects against dead clients that keep the TCP connection open: a client that
    ...    stops answering pings is closed within heartbeat interval + timeout (+ tolerance).
    Open Counted Connection
    Stop Answering Pings
    ${limit}    Evaluate    ${HEARTBEAT_INTERVAL} + ${HEARTBEAT_TIMEOUT} + ${HEARTBEAT_TOLERANCE}
    Wait For Close    ${HEARTBEAT_CLOSE_CODE}    timeout=${limit}
    Everything Should Be Back To Baseline

Connection Over The Per-User Limit Is Closed
    [Documentation]    Protects the service from one account opening unbounded connections: the one
    ...    over the limit is closed with its own code, and the account's other connections carry on.
    Skip If    ${MAX_CONNECTIONS_PER_USER} == 0    The service sets no per-user connection limit.
    ${token}    Get Access Token    ${COUNTED_USER_NAME}    ${COUNTED_USER_PASSWORD}
    FOR    ${index}    IN RANGE    ${MAX_CONNECTIONS_PER_USER}
        Connect With Token    ${token}    alias=allowed${index}
        Welcome Should Arrive    ${COUNTED_USER_NAME}
    END
    Connect With Token    ${token}    alias=extra
    Wait For Close    ${LIMIT_CLOSE_CODE}    connection=extra
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    ${MAX_CONNECTIONS_PER_USER}
    Echo Should Round Trip    still served    connection=allowed0
    Everything Should Be Back To Baseline

Many Connect Disconnect Cycles Leave No Trace
    [Documentation]    Protects against slow leaks: ${CYCLES} open/close cycles leave the client's
    ...    thread and socket counts exactly at baseline, the service's connection count at baseline,
    ...    and the service's memory growth under ${SERVICE_MEMORY_PER_CYCLE} bytes per cycle.
    # The first connections of a fresh service load code and fill caches: not a leak.
    Open And Close Connections    ${WARM_UP_CYCLES}
    ${memory_before}    Service Memory Usage
    Open And Close Connections    ${CYCLES}
    Everything Should Be Back To Baseline
    Service Memory Growth Should Be Within Budget    ${memory_before}    ${CYCLES}


*** Keywords ***
Service Memory Growth Should Be Within Budget
    [Documentation]    The service's memory grew less than ${SERVICE_MEMORY_PER_CYCLE} bytes per cycle
    ...    since it was ``${before}``.
    [Arguments]    ${before}    ${cycles}
    ${after}    Service Memory Usage
    ${per_cycle}    Evaluate    (${after} - ${before}) // ${cycles}
    VAR    ${budget}    ${SERVICE_MEMORY_PER_CYCLE}
    Should Be True    ${per_cycle} < ${budget}
    ...    msg=Service memory grew ${per_cycle} bytes a cycle over ${cycles} cycles (budget ${budget}).

Take Baselines
    [Documentation]    Records the client's resources and waits until the service counts no
    ...    connection of the counted account.
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    0
    Take Resource Baseline

Open Counted Connection
    [Documentation]    Opens a connection as the account whose connections this suite counts.
    Open Authenticated Connection    counted    ${COUNTED_USER_NAME}    ${COUNTED_USER_PASSWORD}
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    1

Open And Close Connections
    [Documentation]    Opens and closes ``${count}`` connections one after another, each waiting
    ...    for its welcome. The transcript is off meanwhile (it would repeat the same rows), and
    ...    back on whatever happens.
    [Arguments]    ${count}
    ${token}    Get Access Token    ${COUNTED_USER_NAME}    ${COUNTED_USER_PASSWORD}
    ${previous}    Set Transcript Logging    off
    TRY
        FOR    ${_}    IN RANGE    ${count}
            Connect With Token    ${token}    alias=cycle
            Wait For Message    type=welcome
            Close Connection
        END
    FINALLY
        Set Transcript Logging    ${previous}
    END

Everything Should Be Back To Baseline
    [Documentation]    Once the client has let go of what is still open (dropped and frozen
    ...    connections are already closed), the service counts no connection of the account and
    ...    the client holds no more connections, threads or sockets than before the test.
    Close All Connections
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    0
    Resources Should Be Back To Baseline    threads=0    sockets=0    memory=${CLIENT_MEMORY_BUDGET}
