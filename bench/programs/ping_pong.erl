%% n round trips between two processes.
-module(ping_pong).
-export([main/1]).

ponger() ->
    receive
        {ping, From, K} ->
            From ! {pong, K},
            ponger();
        stop -> stopped
    end.

loop(N, N, _Pong, Acc) -> Acc;
loop(I, N, Pong, Acc) ->
    Pong ! {ping, self(), I},
    receive
        {pong, K} -> loop(I + 1, N, Pong, Acc + K)
    end.

main([Arg]) ->
    N = list_to_integer(Arg),
    Start = erlang:monotonic_time(millisecond),
    Pong = spawn(fun ponger/0),
    Sum = loop(0, N, Pong, 0),
    Pong ! stop,
    Elapsed = erlang:monotonic_time(millisecond) - Start,
    io:format("~p~n", [Sum]),
    io:format("elapsed-ms ~p~n", [Elapsed]),
    halt(0).
