%% n round trips between a process here and one on another node (Erlang
%% distribution between two nodes of this machine), and as many within
%% this node.
-module(dist_hop).
-export([main/1, ponger/0]).

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

timed(N, Pong) ->
    Start = erlang:monotonic_time(microsecond),
    Sum = loop(0, N, Pong, 0),
    Pong ! stop,
    {Sum, erlang:monotonic_time(microsecond) - Start}.

main([Other, Arg]) ->
    N = list_to_integer(Arg),
    Node = list_to_atom(Other),
    pong = net_adm:ping(Node),
    {Sum, Remote} = timed(N, spawn(Node, dist_hop, ponger, [])),
    {Sum, Local} = timed(N, spawn(fun ponger/0)),
    io:format("~p~n", [Sum]),
    io:format("metric local-us-per-hop ~.2f~n", [Local / N]),
    io:format("metric remote-us-per-hop ~.2f~n", [Remote / N]),
    io:format("elapsed-ms ~p~n", [Remote div 1000]),
    rpc:call(Node, init, stop, []),
    halt(0).
