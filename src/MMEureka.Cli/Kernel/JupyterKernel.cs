using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis.CSharp;
using MMEureka.Cli.Notebooks;

namespace MMEureka.Cli.Kernel;

/// <summary>
/// A Jupyter kernel for C# (messaging protocol 5.3) over the project's own cell engine, <see cref="CellSession"/>:
/// cells run exactly as under <c>mmeureka notebook run</c>. Shell requests are served one at a time on one thread and
/// control requests on another, so that interrupt and shutdown get through while a cell runs; every request is
/// wrapped in iopub status busy/idle.
/// </summary>
public sealed class JupyterKernel
{
    /// <summary>How long an interrupted cell may take to stop before the kernel gives up on its thread and answers.</summary>
    public static readonly TimeSpan InterruptGrace = TimeSpan.FromMilliseconds(500);

    readonly IKernelTransport transport;
    readonly MessageCodec codec;
    readonly TextWriter log;
    // Built on a worker thread after the first kernel_info_reply (it reads every framework assembly's metadata), so
    // that the reply does not wait for it; a cell or completion that comes first builds it.
    readonly Lazy<(CellSession Cells, CodeAssistance Assistance)> engine;
    readonly string session = Guid.NewGuid().ToString();
    readonly BlockingCollection<(JupyterMessage Message, DateTime Received)> shellQueue = new(), controlQueue = new();
    readonly BlockingCollection<JupyterMessage> stdinReplies = new();
    readonly ManualResetEventSlim stopped = new();
    volatile CellExecution? running;
    volatile JupyterMessage? runningRequest;
    DateTime abortReceivedBefore = DateTime.MinValue;
    int executionCount, warmed;

    /// <summary>A kernel on <paramref name="transport"/> whose cells run in <paramref name="folder"/>; protocol problems are logged to <paramref name="log"/>.</summary>
    public JupyterKernel(IKernelTransport transport, string key, string folder, TextWriter log)
    {
        this.transport = transport;
        this.log = log;
        codec = new MessageCodec(key);
        engine = new(() => { var cells = new CellSession(folder); return (cells, new CodeAssistance(cells)); });
    }

    /// <summary>Messages refused so far (bad signature or malformed).</summary>
    public int Refused { get; private set; }

    /// <summary>Serves until a shutdown request; returns the process exit code.</summary>
    public int Run()
    {
        Console.SetIn(new StdinReader(this));
        transport.Start(Received);
        new Thread(() => Serve(shellQueue, false)) { IsBackground = true, Name = "jupyter shell" }.Start();
        new Thread(() => Serve(controlQueue, true)) { IsBackground = true, Name = "jupyter control" }.Start();
        stopped.Wait();
        transport.Flush(TimeSpan.FromSeconds(2));
        transport.Dispose();
        return 0;
    }

    /// <summary>Interrupts the running cell, if any (interrupt_request, or SIGINT).</summary>
    public void Interrupt() => running?.Interrupt();

    void Received(Channel channel, List<byte[]> frames)
    {
        JupyterMessage message;
        try { message = codec.Decode(frames); }
        catch (ProtocolException e)
        {
            Refused++;
            log.WriteLine($"mmeureka kernel: refused a message on {channel.ToString().ToLowerInvariant()}: {e.Message}");
            return;
        }
        if (channel == Channel.Shell) shellQueue.Add((message, DateTime.UtcNow));
        else if (channel == Channel.Control) controlQueue.Add((message, DateTime.UtcNow));
        else stdinReplies.Add(message);
    }

    void Serve(BlockingCollection<(JupyterMessage Message, DateTime Received)> queue, bool control)
    {
        foreach (var (request, received) in queue.GetConsumingEnumerable())
        {
            if (control) controlRequest.Value = request;
            Publish("status", new JsonObject { ["execution_state"] = "busy" }, request);
            bool stop = false;
            try { stop = Handle(request, received); }
            catch (Exception e) { log.WriteLine($"mmeureka kernel: {request.Type} failed: {e}"); }
            Publish("status", new JsonObject { ["execution_state"] = "idle" }, request);
            if (stop) { stopped.Set(); return; }
        }
    }

    bool Handle(JupyterMessage request, DateTime received)
    {
        var content = request.Content;
        string Text(string field) => content[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
        int Number(string field) => content[field] is JsonValue v && v.TryGetValue<int>(out var n) ? n : 0;
        switch (request.Type)
        {
            case "kernel_info_request":
                Reply(request, KernelInfo());
                // Once the front end knows the kernel is up (not before: on a busy machine that work would delay this
                // reply), build the session and warm the compiler in a throwaway one, so the first cell is quick.
                if (Interlocked.Exchange(ref warmed, 1) == 0)
                    ThreadPool.QueueUserWorkItem(_ => { try { new CellSession(engine.Value.Cells.Folder).Continue("1").RunAsync(new ScriptGlobals()).Wait(); } catch (Exception) { } });
                break;
            case "execute_request": Execute(request, received); break;
            case "is_complete_request": Reply(request, CodeAssistance.IsComplete(Text("code"))); break;
            case "complete_request": Reply(request, engine.Value.Assistance.Complete(Text("code"), Number("cursor_pos"))); break;
            case "inspect_request": Reply(request, engine.Value.Assistance.Inspect(Text("code"), Number("cursor_pos"))); break;
            case "comm_info_request": Reply(request, new JsonObject { ["status"] = "ok", ["comms"] = new JsonObject() }); break;
            case "history_request": Reply(request, new JsonObject { ["status"] = "ok", ["history"] = new JsonArray() }); break;
            case "interrupt_request":
                Interrupt();
                Reply(request, new JsonObject { ["status"] = "ok" });
                break;
            case "shutdown_request":
                running?.Interrupt();
                var reply = new JsonObject { ["status"] = "ok", ["restart"] = content["restart"]?.GetValue<bool>() ?? false };
                Reply(request, reply);
                Publish("shutdown_reply", (JsonObject)reply.DeepClone(), request);
                return true;
            default:
                log.WriteLine($"mmeureka kernel: ignored unknown message type '{request.Type}'");
                break;
        }
        return false;
    }

    static JsonObject KernelInfo() => new()
    {
        ["status"] = "ok",
        ["protocol_version"] = JupyterMessage.ProtocolVersion,
        ["implementation"] = "mmeureka-csharp",
        ["implementation_version"] = typeof(JupyterKernel).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        ["language_info"] = new JsonObject
        {
            ["name"] = "C#",
            ["version"] = LanguageVersion.Latest.MapSpecifiedToEffectiveVersion().ToDisplayString(),
            ["mimetype"] = "text/x-csharp",
            ["file_extension"] = ".cs",
            ["pygments_lexer"] = "csharp",
            ["codemirror_mode"] = "text/x-csharp",
        },
        ["banner"] = $"MMEureka C# kernel (Roslyn scripting, C# {LanguageVersion.Latest.MapSpecifiedToEffectiveVersion().ToDisplayString()}, .NET {Environment.Version}): cells run as under `mmeureka notebook run`",
        ["help_links"] = new JsonArray(),
    };

    void Execute(JupyterMessage request, DateTime received)
    {
        var content = request.Content;
        var code = content["code"]?.GetValue<string>() ?? "";
        bool silent = content["silent"]?.GetValue<bool>() ?? false;
        bool storeHistory = !silent && (content["store_history"]?.GetValue<bool>() ?? true);
        bool stopOnError = content["stop_on_error"]?.GetValue<bool>() ?? true;
        if (received < abortReceivedBefore)
        {
            // An earlier cell failed with stop_on_error: what was queued behind it is not run (Jupyter's rule).
            Reply(request, new JsonObject { ["status"] = "aborted", ["execution_count"] = executionCount });
            return;
        }
        if (string.IsNullOrWhiteSpace(code))
        {
            Reply(request, Ok(executionCount));
            return;
        }
        int count = storeHistory ? ++executionCount : executionCount;
        if (!silent) Publish("execute_input", new JsonObject { ["code"] = code, ["execution_count"] = count }, request);

        var cell = new NotebookCell { Number = count, Type = "code", Source = code, Id = $"kernel-{count}", Metadata = new JsonObject() };
        using var live = new LivePublisher(this, request, silent);
        var outputs = new CellOutputs { Live = live.OnOutput };
        runningRequest = request;
        var execution = engine.Value.Cells.Compile(cell, outputs, count);
        if (execution.Failure is null)
        {
            execution.Start();
            running = execution;
            if (WaitInterruptible(execution)) execution.Finish();
            else
            {
                var message = $"cell {count} was interrupted but did not stop within {InterruptGrace.TotalSeconds:0.#} s (it is inside a call that does not check for interruption); "
                              + "it keeps running in the background until that call returns, and its variables are not kept. Restart the kernel to stop it now.";
                outputs.Error("Interrupted", message, [message]);
                execution.Failure = "Interrupted: " + message;
            }
            running = null;
        }
        runningRequest = null;
        outputs.Close();
        live.Flush();

        if (execution.Failure is null) { Reply(request, Ok(count)); return; }
        var error = outputs.Snapshot().LastOrDefault(o => o["output_type"]?.GetValue<string>() == "error");
        // Marked before the reply goes out: a request the front end sends after it has seen the error must run, and
        // on a busy machine it can reach the socket before this thread would get past the reply.
        if (stopOnError) abortReceivedBefore = DateTime.UtcNow;
        Reply(request, new JsonObject
        {
            ["status"] = "error",
            ["execution_count"] = count,
            ["ename"] = error?["ename"]?.DeepClone() ?? "Error",
            ["evalue"] = error?["evalue"]?.DeepClone() ?? execution.Failure,
            ["traceback"] = error?["traceback"]?.DeepClone() ?? new JsonArray(),
        });
    }

    static JsonObject Ok(int count) => new()
    {
        ["status"] = "ok", ["execution_count"] = count, ["payload"] = new JsonArray(), ["user_expressions"] = new JsonObject(),
    };

    // Waits for the cell; once it is interrupted, gives it InterruptGrace to stop, then gives up on it (false).
    static bool WaitInterruptible(CellExecution execution)
    {
        while (!execution.Wait(TimeSpan.FromMilliseconds(20)))
            if (execution.Interrupted) return execution.Wait(InterruptGrace);
        return true;
    }

    // Answers on the socket the request came in on (kernel_info and shutdown may come on shell or control).
    void Reply(JupyterMessage request, JsonObject content)
    {
        var type = request.Type.EndsWith("_request") ? request.Type[..^"_request".Length] + "_reply" : request.Type + "_reply";
        var channel = controlRequest.Value == request ? Channel.Control : Channel.Shell;
        Send(channel, JupyterMessage.Create(type, content, request, session));
    }

    // The request the control thread is handling (each serving thread sees its own).
    readonly ThreadLocal<JupyterMessage?> controlRequest = new();

    internal void Publish(string type, JsonObject content, JupyterMessage? parent) =>
        Send(Channel.IOPub, JupyterMessage.Create(type, content, parent, session) with { Identities = [Encoding.UTF8.GetBytes("kernel." + type)] });

    void Send(Channel channel, JupyterMessage message) => transport.Send(channel, codec.Encode(message));

    /// <summary>
    /// Publishes a running cell's outputs on iopub as they happen. Stream text is gathered for up to 50 ms (a cell
    /// writing one character at a time would otherwise send a message per character) and always sent before the
    /// next display or result, so the front end sees outputs in the order the cell made them.
    /// </summary>
    sealed class LivePublisher : IDisposable
    {
        readonly JupyterKernel kernel;
        readonly JupyterMessage parent;
        readonly bool silent;
        readonly object gate = new();
        readonly Timer timer;
        readonly StringBuilder pending = new();
        string? pendingName;

        public LivePublisher(JupyterKernel kernel, JupyterMessage parent, bool silent)
        {
            (this.kernel, this.parent, this.silent) = (kernel, parent, silent);
            timer = new Timer(_ => Flush(), null, 50, 50);
        }

        public void OnOutput(JsonObject output)
        {
            if (silent) return;
            lock (gate)
            {
                var type = output["output_type"]!.GetValue<string>();
                if (type == "stream")
                {
                    var name = output["name"]!.GetValue<string>();
                    if (name != pendingName) FlushLocked();
                    pendingName = name;
                    pending.Append(output["text"]!.GetValue<string>());
                    return;
                }
                FlushLocked();
                var content = new JsonObject();
                foreach (var (key, value) in output)
                    if (key != "output_type") content[key] = key == "data" ? Bundle((JsonObject)value!) : value?.DeepClone();
                if (type == "display_data") content["transient"] = new JsonObject();
                kernel.Publish(type, content, parent);
            }
        }

        public void Flush() { lock (gate) FlushLocked(); }

        void FlushLocked()
        {
            if (pendingName is null || pending.Length == 0) return;
            kernel.Publish("stream", new JsonObject { ["name"] = pendingName, ["text"] = pending.ToString() }, parent);
            pending.Clear();
        }

        // nbformat stores text MIME values as lists of lines; the protocol sends strings. JSON MIME types
        // (application/json, application/…+json) keep the value the runner made.
        static JsonObject Bundle(JsonObject data)
        {
            var bundle = new JsonObject();
            foreach (var (mime, value) in data)
            {
                bool json = mime == "application/json" || mime.EndsWith("+json");
                bundle[mime] = !json && value is JsonArray lines ? string.Concat(lines.Select(l => l?.GetValue<string>())) : value?.DeepClone();
            }
            return bundle;
        }

        public void Dispose() => timer.Dispose();
    }

    /// <summary>Console.In of the cells: a line read asks the front end (input_request on stdin) when it allows it.</summary>
    sealed class StdinReader(JupyterKernel kernel) : TextReader
    {
        public override string? ReadLine()
        {
            var request = kernel.runningRequest;
            if (request is null || request.Content["allow_stdin"]?.GetValue<bool>() != true)
                throw new InvalidOperationException("this front end does not accept input (allow_stdin is false)");
            while (kernel.stdinReplies.TryTake(out _)) { } // drop stale replies
            var ask = JupyterMessage.Create("input_request", new JsonObject { ["prompt"] = "", ["password"] = false }, request, kernel.session);
            kernel.Send(Channel.Stdin, ask);
            while (true)
            {
                if (kernel.stdinReplies.TryTake(out var reply, 100) && reply.Type == "input_reply")
                    return reply.Content["value"]?.GetValue<string>() ?? "";
                if (kernel.running?.Interrupted == true) throw new OperationCanceledException("the cell was interrupted");
            }
        }
    }
}
