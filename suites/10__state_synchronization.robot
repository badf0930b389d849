*** Settings ***
Documentation     State Synchronization: tabs of one user share a versioned document. A stale edit
...               is refused with the current state so the tab can recover, every change reaches the
...               other tabs, and a tab that was offline catches up (with the missed patches, or a
...               snapshot when it missed too many).

Resource          ../resources/service.resource
Resource          ../resources/protocol.resource
Resource          ../resources/state.resource

Suite Setup       Use Service Under Test    state_history=${STATE_HISTORY}
Suite Teardown    Release Service Under Test
Test Setup        Open Two Tabs
Test Teardown     Close All Connections

Test Tags         p2    state


*** Variables ***
# Patches the service keeps for catching up; a tab that missed more gets a snapshot.
${STATE_HISTORY}    5


*** Test Cases ***
Stale Edit Gets A Conflict And Recovers
    [Documentation]    Protects concurrent edits: the tab editing an old version gets ``conflict`` with
    ...    the current version and document, retries on it, and both tabs end on the same state.
    ${base}    Get State    connection=tab1
    ${version}    Patch Should Be Applied    ${{ {"title": "from tab 1"} }}    ${base}[version]
    ...    connection=tab1
    ${conflict}    Patch Should Conflict    ${{ {"title": "from tab 2"} }}    ${base}[version]
    ...    connection=tab2
    Should Be Equal As Integers    ${conflict}[current_version]    ${version}
    Should Be Equal    ${conflict}[doc][title]    from tab 1
    Patch Should Be Applied    ${{ {"body": "tab 2 retried"} }}    ${conflict}[current_version]
    ...    connection=tab2
    Tabs Should Show The Same State

Changes Reach The Other Tab
    [Documentation]    Protects live sync: a patch in one tab arrives in the other as ``state.updated``
    ...    with the new version and the patch, and not in the tab that made it.
    ${base}    Get State    connection=tab1
    ${version}    Patch Should Be Applied    ${{ {"count": 1} }}    ${base}[version]    connection=tab1
    ${update}    Wait For Message    type=state.updated    version=${version}    connection=tab2
    Should Be Equal    ${update}[patch]    ${{ {"count": 1} }}
    Should Not Receive Message    within=300ms    type=state.updated    connection=tab1

Offline Tab Catches Up With The Missed Patches
    [Documentation]    Protects convergence after a short absence: the tab resumes from its version
    ...    and gets every missed patch, in version order, then shows the same state.
    ${base}    Get State    connection=tab2
    Close Connection    connection=tab2
    Make Patches    3    ${base}[version]    connection=tab1
    Reconnect    tab2
    ${resumed}    Resume State    ${base}[version]    connection=tab2
    Should Be Equal    ${resumed}[mode]    patches
    @{updates}    Wait For Messages    3    type=state.updated    connection=tab2
    Sequence Should Be Continuous    ${updates}    field=version    start=${{ $base["version"] + 1 }}
    Tabs Should Show The Same State

Long Offline Tab Gets A Snapshot
    [Documentation]    Protects convergence after a long absence: more missed patches than the service
    ...    keeps means a full snapshot instead, and the tab ends on the same state.
    ${base}    Get State    connection=tab2
    Close Connection    connection=tab2
    Make Patches    ${{ int($STATE_HISTORY) + 3 }}    ${base}[version]    connection=tab1
    Reconnect    tab2
    ${resumed}    Resume State    ${base}[version]    connection=tab2
    Should Be Equal    ${resumed}[mode]    snapshot
    ${snapshot}    Wait For Message    type=state    connection=tab2
    Should Be Equal As Integers    ${snapshot}[version]    ${resumed}[version]
    Tabs Should Show The Same State


*** Keywords ***
Open Two Tabs
    [Documentation]    Two connections of the same user, like two browser tabs.
    Open Authenticated Connection    tab1
    Open Authenticated Connection    tab2

Make Patches
    [Documentation]    Makes ``${count}`` patches in a row from ``${version}``; returns the last version.
    [Arguments]    ${count}    ${version}    ${connection}
    FOR    ${n}    IN RANGE    ${count}
        ${version}    Patch Should Be Applied    ${{ {"step": $n} }}    ${version}    connection=${connection}
    END
    RETURN    ${version}

Tabs Should Show The Same State
    [Documentation]    Both tabs read the same version and document.
    ${one}    Get State    connection=tab1
    ${two}    Get State    connection=tab2
    Should Be Equal    ${one}[version]    ${two}[version]
    Should Be Equal    ${one}[doc]    ${two}[doc]
