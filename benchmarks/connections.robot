*** Settings ***
Documentation    The group keywords inside a real Robot Framework run, output.xml included:
...              variant ``robot`` of benchmarks/connections.py, which starts the service and
...              passes the URL, the count and (by environment) the token. Opens a group, waits
...              for every welcome, echoes to all, closes, and writes the figures to
...              ``${FIGURES_FILE}`` as JSON.

Library          OperatingSystem
Library          WebSocketLibrary    transcript=${FALSE}


*** Variables ***
${WS_URL}          ${EMPTY}
${CONNECTIONS}     1000
${CONCURRENCY}     100
${WAIT}            10s
${FIGURES_FILE}    figures.json


*** Test Cases ***
Open, Echo To All And Close A Group    # robocop: off=LEN04,LEN06
    [Documentation]    One measured round, phase by phase in one test so nothing runs between them.
    VAR    &{auth}    Authorization=Bearer %{CONNECTIONS_BENCHMARK_TOKEN}
    ${rss_before}    Resident Memory
    ${opened}    Evaluate    time.time()
    Open Connection Group    g    ${CONNECTIONS}    ${WS_URL}    headers=${auth}
    ...    concurrency=${CONCURRENCY}    timeout=${WAIT}
    ${open_ended}    Evaluate    time.time()
    Wait For Group Message    g    type=welcome    timeout=${WAIT}
    ${rss_after}    Resident Memory
    ${echo_started}    Evaluate    time.time()
    Send Message To Group    g    ${{ {"type": "echo", "id": "{i}"} }}
    Wait For Group Message    g    type=echo    id={i}    timeout=${WAIT}
    ${echo_ended}    Evaluate    time.time()
    Close Connection Group    g
    ${closed}    Evaluate    time.time()
    VAR    &{phases}    open_started=${opened}    open_ended=${open_ended}
    ...    echo_started=${echo_started}    echo_ended=${echo_ended}
    VAR    &{figures}    open_seconds=${{ $open_ended - $opened }}
    ...    echo_all_seconds=${{ $echo_ended - $echo_started }}    close_seconds=${{ $closed - $echo_ended }}
    ...    rss_growth_mib=${{ ($rss_after - $rss_before) / 2**20 }}
    ...    kib_per_connection=${{ ($rss_after - $rss_before) / 1024 / int($CONNECTIONS) }}
    ...    no_welcome=${0}    no_echo=${0}    phases=${phases}
    Create File    ${FIGURES_FILE}    ${{ json.dumps($figures) }}


*** Keywords ***
Resident Memory
    [Documentation]    This process's resident memory in bytes.
    ${rss}    Evaluate    psutil.Process().memory_info().rss
    RETURN    ${rss}
