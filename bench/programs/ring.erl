%% A ring of n processes passes a token round m times: n * m hops.
-module(ring).
-export([main/1]).

node_init(Main) ->
    receive
        {next, Next} -> relay(Main, Next)
    end.

relay(Main, Next) ->
    receive
        {token, 0} -> Main ! done;
        {token, K} ->
            Next ! {token, K - 1},
            relay(Main, Next)
    end.

main([NArg, MArg]) ->
    N = list_to_integer(NArg),
    M = list_to_integer(MArg),
    Me = self(),
    Start = erlang:monotonic_time(millisecond),
    Pids = [spawn(fun() -> node_init(Me) end) || _ <- lists:seq(1, N)],
    [First | _] = Pids,
    Nexts = tl(Pids) ++ [First],
    lists:foreach(fun({P, Next}) -> P ! {next, Next} end, lists:zip(Pids, Nexts)),
    Hops = N * M,
    First ! {token, Hops},
    receive
        done -> ok
    end,
    Elapsed = erlang:monotonic_time(millisecond) - Start,
    io:format("~p~n", [Hops]),
    io:format("elapsed-ms ~p~n", [Elapsed]),
    halt(0).
