*** Settings ***
Documentation     Concurrent Connections: one user on several tabs and hundreds of users at once.
...               An event for a user reaches every tab of that user and nobody else, hundreds of
...               connections are served side by side, the per-user limit holds under a connect
...               storm, one tab closing leaves the others alone, and a topic broadcast reaches
...               hundreds of subscribers within a budget.
...
...               Every test uses its own accounts of the ``${MANY_USER_NAME}`` pattern, so the
...               tests stay independent in any order, in one process or split by pabot.

Library           DateTime
Resource          ../resources/service.resource
Resource          ../resources/protocol.resource
Resource          ../resources/events.resource
Resource          ../resources/tabs.resource

Suite Setup       Set Up Many Users
Suite Teardown    Release Service Under Test
Test Teardown     Close All Connections

Test Tags         p1    concurrency


*** Variables ***
${USERS_SERVED_AT_ONCE}    ${200}
${SUBSCRIBERS}             ${500}
# How long an unwanted message gets to show up before a test believes it will not.
${QUIET_PERIOD}            300ms
# From the publish request to the event in all 500 subscribers' inboxes. Measured on the
# reference service: 0.15-0.25 s on an idle 2-core machine (one SQLite transaction of 500
# rows, then 500 deliveries); the budget leaves room for a loaded CI machine and still
# fails a service that delivers one subscriber after another with a wait in between.
${BROADCAST_BUDGET}        3s


*** Test Cases ***
An Event For A User Reaches Every Tab Of That User And No Other
    [Documentation]    Protects multi-tab delivery: an event for one user arrives on each of that
    ...    user's three tabs exactly once, with the same seq, and never on another user's tabs.
    ${user}    Many User Name    701
    Open Tabs Of Account    mine    701    tabs=3
    Open Tabs Of Account    theirs    702    tabs=2
    ${marker}    Evaluate    str(uuid.uuid4())
    ${answer}    Publish Event Over HTTP    ${user}    ${{ {"marker": $marker} }}
    Every Tab Should Get The Event Once    mine    ${marker}    ${answer}[deliveries][0][seq]
    Group Should Not Receive Message    theirs    ${QUIET_PERIOD}    type=event

Two Hundred Users On Two Tabs Each Are Served At Once
    [Documentation]    Protects the service under many connections: 200 users with two tabs each,
    ...    all 400 open together, each tab with its own connection id, and every tab gets the
    ...    echo of its own message and not the other tab's.
    ${tokens}    Log In Many Users    1    ${USERS_SERVED_AT_ONCE}
    ${first}    Open Tabs    first tabs    ${tokens}
    ${second}    Open Tabs    second tabs    ${tokens}
    Welcomes Should Name The Users    ${first}    1
    Welcomes Should Name The Users    ${second}    1
    Connection Ids Should Be Distinct    ${first}    ${second}
    Each Tab Should Get Its Own Echo    first tabs    first
    Each Tab Should Get Its Own Echo    second tabs    second
    Group Should Not Receive Message    second tabs    ${QUIET_PERIOD}    type=echo    regex="first-
    Open Connections Of Many Users Should Be    1    ${USERS_SERVED_AT_ONCE}    2

A Connect Storm Over The Per-User Limit Admits Exactly The Limit
    [Documentation]    Protects the per-user limit under concurrency: five more connections than
    ...    the limit, all handshaking at once, give exactly the limit working tabs; the rest are
    ...    closed with the documented code before any welcome, and the admitted tabs keep working.
    Skip If    ${MAX_CONNECTIONS_PER_USER} == 0    The service sets no per-user connection limit.
    ${user}    Many User Name    703
    ${outcome}    Storm Of Tabs    storm    703    ${{ int($MAX_CONNECTIONS_PER_USER) + 5 }}
    Length Should Be    ${outcome.matched}    ${MAX_CONNECTIONS_PER_USER}
    ...    msg=${outcome.matched} got a welcome; the limit is ${MAX_CONNECTIONS_PER_USER}.
    Should Be Equal    ${outcome.close_codes}    ${{ {int($LIMIT_CLOSE_CODE): 5} }}
    ...    msg=Expected 5 connections closed with ${LIMIT_CLOSE_CODE}, got ${outcome.close_codes}.
    Admitted Tabs Should Get Their Echo    storm    ${outcome.matched}
    Open Connections Of User Should Be    ${user}    ${MAX_CONNECTIONS_PER_USER}

Closing One Tab Leaves The Other Tabs Working
    [Documentation]    Protects the other tabs when one goes: after the middle tab closes, the
    ...    service lists two tabs, and both still get echoes and events.
    ${user}    Many User Name    704
    Open Tabs Of Account    tabs    704    tabs=3
    User Should Have Tabs    3    tabs:1
    Close Connection    connection=tabs:2
    Wait Until Keyword Succeeds    ${TIMEOUT}    50ms    User Should Have Tabs    2    tabs:1
    Each Tab Should Get Its Own Echo    tabs    after
    ${marker}    Evaluate    str(uuid.uuid4())
    Publish Event Over HTTP    ${user}    ${marker}
    Wait For Group Message    tabs    type=event    data=${marker}

A Topic Broadcast Reaches Every Subscriber Within The Budget
    [Documentation]    Protects fan-out at scale: one event published to a topic reaches all 500
    ...    subscribed users within ``${BROADCAST_BUDGET}`` of the publish request, once each.
    ${tokens}    Log In Many Users    201    ${{ 200 + $SUBSCRIBERS }}
    Open Tabs    subscribers    ${tokens}
    ${topic}    Evaluate    f"news-{uuid.uuid4()}"
    Send Message To Group    subscribers    ${{ {"type": "subscribe", "id": "sub", "topic": $topic} }}
    Wait For Group Message    subscribers    type=subscribed    topic=${topic}
    ${elapsed}    Time A Topic Broadcast To The Group    subscribers    ${topic}
    ${budget}    Convert Time    ${BROADCAST_BUDGET}
    Should Be True    $elapsed < $budget
    ...    msg=The broadcast took ${elapsed} s, over the ${BROADCAST_BUDGET} budget.
    Group Should Not Receive Message    subscribers    0s    type=event    topic=${topic}


*** Keywords ***
Set Up Many Users
    [Documentation]    Uses the service under test (the embedded one with the accounts and the
    ...    per-user limit these tests need) and logs in the publisher.
    Use Service Under Test
    ...    seed_users=${MANY_USERS}
    ...    max_connections_per_user=${MAX_CONNECTIONS_PER_USER}
    Open Publisher Session

Every Tab Should Get The Event Once
    [Documentation]    Waits for the event with ``${marker}`` on every tab of ``${group}`` and checks
    ...    that all got it under ``${seq}`` and none got it twice.
    [Arguments]    ${group}    ${marker}    ${seq}
    ${events}    Wait For Group Message    ${group}    type=event    data.marker=${marker}
    ${seqs}    Evaluate    {event["seq"] for event in $events}
    Should Be Equal    ${seqs}    ${{ {int($seq)} }}
    ...    msg=The tabs got the event under seqs ${seqs}, not only ${seq}.
    Group Should Not Receive Message    ${group}    0s    type=event    data.marker=${marker}

Connection Ids Should Be Distinct
    [Documentation]    Checks that no two of the welcomes give the same connection id.
    [Arguments]    @{welcome_lists}
    ${welcomes}    Evaluate    [welcome for welcomes in $welcome_lists for welcome in welcomes]
    ${ids}    Evaluate    {welcome["connection_id"] for welcome in $welcomes}
    Length Should Be    ${ids}    ${{ len($welcomes) }}    msg=Some connection ids repeat.

Storm Of Tabs
    [Documentation]    Opens ``${count}`` tabs of account ``${index}`` with every handshake at once,
    ...    refusals allowed, and returns the outcome of waiting for their welcomes.
    [Arguments]    ${group}    ${index}    ${count}
    ${token}    Log In Many Users    ${index}    ${index}
    ${headers}    Bearer Headers    ${{ $token * int($count) }}
    Open Connection Group    ${group}    ${count}    ${WS_URL}    headers=${headers}
    ...    concurrency=${count}    require_all=${FALSE}
    ${outcome}    Wait For Group Outcomes    ${group}    type=welcome
    RETURN    ${outcome}

Admitted Tabs Should Get Their Echo
    [Documentation]    Sends each open tab of ``${group}`` an echo and checks that exactly the tabs
    ...    ``${admitted}`` get theirs.
    [Arguments]    ${group}    ${admitted}
    Send Message To Group    ${group}    ${{ {"type": "echo", "id": "admitted-{i}"} }}
    ${echoes}    Wait For Group Outcomes    ${group}    type=echo    id=admitted-{i}
    Should Be Equal    ${echoes.matched}    ${admitted}
    ...    msg=Of the admitted tabs ${admitted}, only ${echoes.matched} got their echo.

Time A Topic Broadcast To The Group
    [Documentation]    Publishes one event to ``${topic}`` over HTTP and waits until every member of
    ...    ``${group}`` has it; returns the seconds from the request to the last arrival.
    [Arguments]    ${group}    ${topic}
    ${started}    Evaluate    time.monotonic()
    ${answer}    Publish Topic Event Over HTTP    ${topic}    breaking news
    Wait For Group Message    ${group}    type=event    topic=${topic}    timeout=${BROADCAST_BUDGET}
    ${elapsed}    Evaluate    time.monotonic() - $started
    ${figures}    Get Group Figures    ${group}
    Log    Reached ${figures.open} subscribers in ${elapsed} s (arrival spread ${figures.arrival_spread} s).
    Length Should Be    ${answer}[deliveries]    ${figures.open}
    RETURN    ${elapsed}

Welcomes Should Name The Users
    [Documentation]    Checks that welcome ``n`` names account ``${first}`` + n - 1.
    [Arguments]    ${welcomes}    ${first}
    ${names}    Evaluate    [welcome["user"] for welcome in $welcomes]
    ${expected}    Many User Names    ${first}    ${{ int($first) + len($welcomes) - 1 }}
    Lists Should Be Equal    ${names}    ${expected}

Open Connections Of Many Users Should Be
    [Documentation]    Checks that the service counts ``${expected}`` open connections for each of
    ...    accounts ``${first}`` to ``${last}``.
    [Arguments]    ${first}    ${last}    ${expected}
    ${metrics}    Get Service Metrics
    ${names}    Many User Names    ${first}    ${last}
    VAR    &{namespace}    names=${names}    open=${metrics}[connections][per_user]
    ...    expected=${{ int($expected) }}
    ${wrong}    Evaluate    {n: open.get(n, 0) for n in names if open.get(n, 0) != expected}
    ...    namespace=${namespace}
    Should Be Empty    ${wrong}    msg=Accounts whose open connections are not ${expected}: ${wrong}

User Should Have Tabs
    [Documentation]    Checks once that the service lists ``${count}`` open tabs of the user.
    [Arguments]    ${count}    ${connection}
    ${tabs}    Tabs Of User    connection=${connection}
    Length Should Be    ${tabs}    ${count}
