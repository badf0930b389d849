*** Settings ***
Documentation     Message Ordering: a user's events keep one order, without gaps, whoever publishes
...               them and however many tabs the user has open; replies to a burst of requests come
...               back in request order.

Library           Collections
Resource          ../resources/service.resource
Resource          ../resources/protocol.resource
Resource          ../resources/events.resource

Suite Setup       Use Service Under Test
Suite Teardown    Release Service Under Test
Test Teardown     Close All Connections

Test Tags         p2    ordering


*** Variables ***
${PUBLISHERS}              ${4}
${EVENTS_PER_PUBLISHER}    ${50}
${BURST}                   ${100}


*** Test Cases ***
Events From Concurrent Publishers Keep One Order In Every Tab
    [Documentation]    Protects per-user ordering: ${PUBLISHERS} publishers interleave their events;
    ...    both of the user's tabs get every event once, in seq order with no gaps, the same events.
    ${last}    Start From An Empty Queue    tab1    ${USER_NAME}    ${USER_PASSWORD}
    Open Authenticated Connection    tab2
    Open Publishers
    Publish Interleaved    ${USER_NAME}
    ${total}    Evaluate    ${PUBLISHERS} * ${EVENTS_PER_PUBLISHER}
    ${in_tab1}    Wait For Event Seqs    ${last + 1}    ${last + ${total}}    connection=tab1
    ...    duplicates=fail    ordered=${TRUE}
    ${in_tab2}    Wait For Event Seqs    ${last + 1}    ${last + ${total}}    connection=tab2
    ...    duplicates=fail    ordered=${TRUE}
    Lists Should Be Equal    ${in_tab1}    ${in_tab2}
    ...    msg=The tabs got the same seqs but not the same events.
    Each Publisher's Events Should Keep Their Order    ${in_tab1}

Replies To A Burst Come Back In Request Order
    [Documentation]    Protects request/reply ordering on one connection: ${BURST} echo requests sent
    ...    back to back are answered in the order they were sent.
    Open Authenticated Connection
    FOR    ${id}    IN RANGE    ${BURST}
        Send Json Message    {"type": "echo", "id": ${id}, "payload": "burst"}
    END
    @{replies}    Wait For Messages    ${BURST}    type=echo
    Sequence Should Be Continuous    ${replies}    field=id    start=0

Topic Events Keep Each Subscriber's Order
    [Documentation]    Protects fan-out: events published to a topic reach every subscriber, each with
    ...    its own gap-free seq, in publish order.
    ${alice_last}    Start From An Empty Queue    alice    ${USER_NAME}    ${USER_PASSWORD}
    ${bob_last}    Start From An Empty Queue    bob    ${OTHER_USER_NAME}    ${OTHER_USER_PASSWORD}
    Subscribe To Topic    ordering-news    connection=alice
    Subscribe To Topic    ordering-news    connection=bob
    Open Authenticated Connection    publisher    ${PUBLISHER_NAME}    ${PUBLISHER_PASSWORD}
    FOR    ${n}    IN RANGE    20
        Publish Event    ${{ {"n": $n} }}    topic=ordering-news    connection=publisher
    END
    Wait For Event Seqs    ${alice_last + 1}    ${alice_last + 20}    connection=alice
    ...    duplicates=fail    ordered=${TRUE}
    ${to_bob}    Wait For Event Seqs    ${bob_last + 1}    ${bob_last + 20}    connection=bob
    ...    duplicates=fail    ordered=${TRUE}
    Sequence Should Be Continuous    ${to_bob}    field=data.n    start=0


*** Keywords ***
Open Publishers
    [Documentation]    Opens ${PUBLISHERS} connections of the publisher account (publishing to another
    ...    user needs the publisher role).
    FOR    ${p}    IN RANGE    ${PUBLISHERS}
        Open Authenticated Connection    publisher${p}    ${PUBLISHER_NAME}    ${PUBLISHER_PASSWORD}
    END

Publish Interleaved
    [Documentation]    Every publisher sends its events in turn, one each round, without waiting for
    ...    the answers, so the service handles them concurrently. Data: ``{"p": publisher, "n": count}``;
    ...    each publisher's request ids count from 0 like ``n``.
    [Arguments]    ${user}
    VAR    &{to}    user=${user}
    FOR    ${n}    IN RANGE    ${EVENTS_PER_PUBLISHER}
        FOR    ${p}    IN RANGE    ${PUBLISHERS}
            VAR    &{data}    p=${p}    n=${n}
            VAR    &{request}    type=publish    id=${n}    to=${to}    data=${data}
            Send Json Message    ${request}    connection=publisher${p}
        END
    END
    FOR    ${p}    IN RANGE    ${PUBLISHERS}
        Wait For Sequence    0    ${EVENTS_PER_PUBLISHER - 1}    field=id    type=published
        ...    duplicates=fail    connection=publisher${p}
    END

Each Publisher's Events Should Keep Their Order
    [Documentation]    Within the user's events, each publisher's own events keep the order it sent them.
    [Arguments]    ${events}
    FOR    ${p}    IN RANGE    ${PUBLISHERS}
        ${own}    Evaluate    [event for event in $events if event["data"]["p"] == ${p}]
        Sequence Should Be Continuous    ${own}    field=data.n    start=0
    END
