%% Spawns n processes that each wait in receive; n/1000 batches of 1000,
%% each process saying it is ready before the next batch starts.
-module(spawn_wait).
-export([main/1]).

-define(BATCH, 1000).

waiter(Parent) ->
    Parent ! ready,
    receive
        stop -> stopped
    end.

spawn_batch(0, _Me) -> ok;
spawn_batch(K, Me) ->
    spawn(fun() -> waiter(Me) end),
    spawn_batch(K - 1, Me).

await_ready(0) -> ok;
await_ready(K) ->
    receive
        ready -> await_ready(K - 1)
    end.

spawn_all(Left, _Me) when Left =< 0 -> ok;
spawn_all(Left, Me) ->
    K = min(Left, ?BATCH),
    spawn_batch(K, Me),
    await_ready(K),
    spawn_all(Left - K, Me).

main([Arg]) ->
    N = list_to_integer(Arg),
    Start = erlang:monotonic_time(millisecond),
    spawn_all(N, self()),
    Elapsed = erlang:monotonic_time(millisecond) - Start,
    io:format("~p~n", [N]),
    io:format("elapsed-ms ~p~n", [Elapsed]),
    halt(0).
