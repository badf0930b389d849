*** Settings ***
Documentation     Basic Connection Establishment: an authenticated client can open, use and close
...               WebSocket connections, and the service keeps an exact count of them.

Library           DateTime
Resource          ../resources/service.resource
Resource          ../resources/protocol.resource

Suite Setup       Use Service Under Test
Suite Teardown    Release Service Under Test
Test Teardown     Close All Connections

Test Tags         p0    connection


*** Test Cases ***
Authenticated Client Connects Within The Handshake Budget
    [Documentation]    Protects the first step of every session: the handshake with a valid token
    ...    succeeds quickly and the server answers with the welcome message.
    ${token}    Get Access Token
    Connect With Token    ${token}    alias=alice
    Handshake Time Should Be Below    ${HANDSHAKE_BUDGET}
    Welcome Should Arrive
    Connection Should Be Open

Welcome Message Describes The Connection
    [Documentation]    Protects the welcome contract: connection id, user and a parseable server time.
    ${welcome}    Open Authenticated Connection
    Should Match Regexp    ${welcome}[connection_id]    ^[0-9a-f-]{8,}$
    ${server_time}    Convert Date    ${welcome}[server_time]    result_format=epoch
    ${skew}    Evaluate    abs(time.time() - ${server_time})
    Should Be True    ${skew} < 60    msg=Server time is ${skew} s away from the client's clock.

Each Connection Gets Its Own Connection Id
    [Documentation]    Protects per-connection identity: two tabs of one user are told apart.
    ${first}    Open Counted Connection    tab1
    ${second}    Open Counted Connection    tab2
    Should Not Be Equal    ${first}[connection_id]    ${second}[connection_id]
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    2

Service Counts Open Connections Exactly
    [Documentation]    Protects the server-side bookkeeping that cleanup and limits rely on.
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    0
    Open Counted Connection    one
    Open Counted Connection    two
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    2
    Close Connection    connection=one
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    1
    Close Connection    connection=two
    Open Connections Of User Should Be    ${COUNTED_USER_NAME}    0

Normal Close Completes The Closing Handshake
    [Documentation]    Protects a clean shutdown: the server answers our close frame with the same code.
    Open Authenticated Connection
    ${closed}    Close Connection    1000    done
    Should Be Equal As Integers    ${closed.code}    1000
    Should Be Equal    ${closed.closed_by}    client

Connections Are Independent
    [Documentation]    Protects isolation: closing one connection does not disturb another.
    Open Authenticated Connection    alias=keep
    Open Authenticated Connection    alias=drop
    Close Connection    connection=drop
    Echo Should Round Trip    still here    connection=keep

Switching Connections Returns The Previous One
    [Documentation]    Protects multi-connection tests: Switch Connection reports where it came from.
    Open Authenticated Connection    alias=first
    Open Authenticated Connection    alias=second
    ${previous}    Switch Connection    first
    Should Be Equal As Integers    ${previous}    2
    ${details}    Get Connection Details
    Should Be Equal    ${details.alias}    first

Connection To A Wrong Path Is Refused
    [Documentation]    Protects routing: only the WebSocket endpoint upgrades.
    ${token}    Get Access Token
    VAR    &{headers}    Authorization=Bearer ${token}
    ${refusal}    Connect Should Be Refused    ${HTTP_URL.replace("http", "ws", 1)}/no-such-path
    ...    headers=${headers}
    Should Be True    400 <= ${refusal.status} < 500


*** Keywords ***
Open Counted Connection
    [Documentation]    Opens a connection as the account whose connections these tests count.
    [Arguments]    ${alias}
    ${welcome}    Open Authenticated Connection    ${alias}    ${COUNTED_USER_NAME}    ${COUNTED_USER_PASSWORD}
    RETURN    ${welcome}
