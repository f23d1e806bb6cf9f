using System.Text.Json.Nodes;
using MMEureka.Cli.Kernel;
using MMEureka.Cli.Tests.Notebooks;

namespace MMEureka.Cli.Tests.Kernel;

/// <summary>One kernel (one Roslyn session) over an in-memory transport, shared by the tests of a class.</summary>
public sealed class KernelFixture : IDisposable
{
    public FakeTransport Transport { get; } = new();
    public MessageCodec Client { get; } = new("test-key");
    public StringWriter Log { get; } = new();
    public JupyterKernel Kernel { get; }
    public string Folder { get; } = TestNotebooks.NewFolder();
    readonly Thread thread;
    readonly List<(Channel Channel, JupyterMessage Message)> received = [];
    public int? ExitCode { get; private set; }

    public KernelFixture()
    {
        Kernel = new JupyterKernel(Transport, "test-key", Folder, TextWriter.Synchronized(Log));
        thread = new Thread(() => ExitCode = Kernel.Run()) { IsBackground = true };
        thread.Start();
        while (!Transport.Started) Thread.Sleep(5);
    }

    public JupyterMessage Send(Channel channel, string type, JsonObject content)
    {
        var request = JupyterMessage.Create(type, content, null, "test-client") with { Identities = ["client"u8.ToArray()] };
        Transport.Receive(channel, Client.Encode(request));
        return request;
    }

    /// <summary>What the kernel sent because of <paramref name="request"/>, up to and including its idle status.</summary>
    public List<(Channel Channel, JupyterMessage Message)> Answers(JupyterMessage request)
    {
        var id = request.Header["msg_id"]!.GetValue<string>();
        bool Mine((Channel, JupyterMessage M) x) => x.M.ParentHeader["msg_id"]?.GetValue<string>() == id;
        bool IsIdle((Channel, JupyterMessage M) x) => x.M.Type == "status" && x.M.Content["execution_state"]!.GetValue<string>() == "idle";
        while (!received.Any(x => Mine(x) && IsIdle(x)))
        {
            // A guard against a hung kernel, not a speed requirement.
            Assert.True(Transport.Sent.TryTake(out var sent, TimeSpan.FromMinutes(3)), $"no idle status for {request.Type}; log: {Log}");
            received.Add((sent.Channel, Client.Decode(sent.Frames)));
        }
        var mine = received.Where(Mine).ToList();
        received.RemoveAll(x => Mine(x));
        return mine;
    }

    public JsonObject Reply(List<(Channel Channel, JupyterMessage Message)> answers) =>
        answers.Single(a => a.Message.Type.EndsWith("_reply") && a.Channel != Channel.IOPub).Message.Content;

    public void Dispose()
    {
        if (ExitCode is null) Send(Channel.Control, "shutdown_request", new JsonObject { ["restart"] = false });
        thread.Join(TimeSpan.FromSeconds(30));
    }
}

public class KernelProtocolTests(KernelFixture k) : IClassFixture<KernelFixture>
{
    static string Types(IEnumerable<(Channel Channel, JupyterMessage Message)> answers) =>
        string.Join(" ", answers.Select(a => a.Message.Type == "status" ? a.Message.Content["execution_state"]!.GetValue<string>() : a.Message.Type));

    [Fact]
    public void KernelInfoIsWrappedInBusyAndIdleAndDescribesCSharp()
    {
        var answers = k.Answers(k.Send(Channel.Shell, "kernel_info_request", new JsonObject()));
        Assert.Equal("busy kernel_info_reply idle", Types(answers));
        Assert.Equal(Channel.Shell, answers[1].Channel);
        var info = answers[1].Message.Content;
        Assert.Equal("5.3", info["protocol_version"]!.GetValue<string>());
        Assert.Equal("C#", info["language_info"]!["name"]!.GetValue<string>());
        Assert.Equal(".cs", info["language_info"]!["file_extension"]!.GetValue<string>());
    }

    [Fact]
    public void RequestSentTheMomentAnErrorReplyArrivesStillRuns()
    {
        // stop_on_error aborts what was queued before the failing cell's reply, never what the front end sends after
        // reading it, however soon: here the next request arrives while the kernel is still inside sending that reply.
        var codec = new MessageCodec("test-key"); // the callback runs on the kernel's thread, beside the test's codec
        JupyterMessage? next = null;
        k.Transport.OnSend = (channel, frames) =>
        {
            if (next is not null || channel != Channel.Shell) return;
            var sent = codec.Decode(frames);
            if (sent.Type != "execute_reply" || sent.Content["status"]?.GetValue<string>() != "error") return;
            next = JupyterMessage.Create("execute_request", new JsonObject { ["code"] = "20 + 22" }, null, "test-client") with { Identities = ["client"u8.ToArray()] };
            k.Transport.Receive(Channel.Shell, codec.Encode(next));
        };
        try
        {
            var failing = k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "throw new InvalidOperationException(\"boom\");" });
            Assert.Equal("error", k.Reply(k.Answers(failing))["status"]!.GetValue<string>());
        }
        finally { k.Transport.OnSend = null; }
        Assert.NotNull(next);
        var answers = k.Answers(next);
        Assert.Equal("ok", k.Reply(answers)["status"]!.GetValue<string>());
        Assert.Contains(answers, a => a.Message.Type == "execute_result" && a.Message.Content["data"]!["text/plain"]!.GetValue<string>() == "42");
    }

    [Fact]
    public void TamperedRequestIsRefusedLoggedAndNotAnswered()
    {
        var request = JupyterMessage.Create("execute_request", new JsonObject { ["code"] = "File.WriteAllText(\"pwned\", \"x\")" }, null, "test-client");
        var frames = k.Client.Encode(request with { Identities = ["client"u8.ToArray()] });
        frames[^1] = "{\"code\":\"System.IO.File.WriteAllText(\\\"pwned\\\", \\\"x\\\")\"}"u8.ToArray();
        int before = k.Kernel.Refused;
        k.Transport.Receive(Channel.Shell, frames);
        Assert.Equal(before + 1, k.Kernel.Refused);
        Assert.Contains("refused a message on shell: signature does not match", k.Log.ToString());
        // The next valid request is answered, and nothing was sent for the refused one (or the file would exist).
        var answers = k.Answers(k.Send(Channel.Shell, "kernel_info_request", new JsonObject()));
        Assert.Equal("busy kernel_info_reply idle", Types(answers));
        Assert.Empty(k.Transport.Sent);
        Assert.False(File.Exists(Path.Combine(k.Folder, "pwned")));
    }

    [Fact]
    public void ExecutePublishesInputStreamsDisplaysAndResultsWithCounts()
    {
        var first = k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "var x = 20;\nConsole.Write(\"a\"); Console.Write(\"b\\n\"); Console.Error.WriteLine(\"warn\");\ndisplay(HTML(\"<i>hi</i>\"));\nx + 1" }));
        Assert.Equal("busy execute_input stream stream display_data execute_result execute_reply idle", Types(first));
        int count = first[1].Message.Content["execution_count"]!.GetValue<int>();
        Assert.Equal("ab\n", first[2].Message.Content["text"]!.GetValue<string>());
        Assert.Equal("stderr", first[3].Message.Content["name"]!.GetValue<string>());
        Assert.Equal("<i>hi</i>", first[4].Message.Content["data"]!["text/html"]!.GetValue<string>());
        Assert.Equal("21", first[5].Message.Content["data"]!["text/plain"]!.GetValue<string>());
        Assert.Equal(count, first[5].Message.Content["execution_count"]!.GetValue<int>());
        Assert.Equal("ok", k.Reply(first)["status"]!.GetValue<string>());

        var second = k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "x * 2" }));
        Assert.Equal(count + 1, k.Reply(second)["execution_count"]!.GetValue<int>());
        Assert.Equal("40", second.Single(a => a.Message.Type == "execute_result").Message.Content["data"]!["text/plain"]!.GetValue<string>());
    }

    [Fact]
    public void FailingCellRepliesErrorAndKernelGoesOn()
    {
        var failed = k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "throw new InvalidOperationException(\"boom\");" }));
        var reply = k.Reply(failed);
        Assert.Equal("error", reply["status"]!.GetValue<string>());
        Assert.Equal("System.InvalidOperationException", reply["ename"]!.GetValue<string>());
        Assert.Equal("boom", failed.Single(a => a.Message.Type == "error").Message.Content["evalue"]!.GetValue<string>());
        var next = k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "\"alive\"" }));
        Assert.Equal("ok", k.Reply(next)["status"]!.GetValue<string>());
    }

    [Fact]
    public void CompileErrorsPointAtTheCodeAsWrittenNotAsRewrittenForInterrupts()
    {
        var failed = k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "for (int i = 0; i < 3; i++) { undefinedName++; }" }));
        var evalue = k.Reply(failed)["evalue"]!.GetValue<string>();
        Assert.Contains("line 1, col 31: error CS0103", evalue);
    }

    [Theory]
    [InlineData("while (true) { }", "was interrupted")]                          // the cell's own loop stops at its checkpoint
    [InlineData("System.Threading.Thread.Sleep(600_000);", "was interrupted")]  // a blocking wait is interrupted
    public void InterruptStopsTheRunningCellAndTheSessionLivesOn(string code, string message)
    {
        k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "var before = 7;" }));
        var running = k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "Console.WriteLine(\"started\");\n" + code });
        // Interrupt once the cell is running (its first output arrived).
        var seen = new List<JupyterMessage>();
        while (!seen.Any(m => m.Type == "stream"))
        {
            Assert.True(k.Transport.Sent.TryTake(out var sent, TimeSpan.FromMinutes(3)));
            seen.Add(k.Client.Decode(sent.Frames));
            Assert.DoesNotContain(seen, m => m.Type == "execute_reply");
        }
        var interrupt = k.Answers(k.Send(Channel.Control, "interrupt_request", new JsonObject()));
        Assert.Equal(Channel.Control, interrupt.Single(a => a.Message.Type == "interrupt_reply").Channel);
        foreach (var m in seen) k.Transport.Sent.Add((Channel.IOPub, k.Client.Encode(m)));
        var answers = k.Answers(running);
        var reply = k.Reply(answers);
        Assert.Equal("Interrupted", reply["ename"]!.GetValue<string>());
        Assert.Contains(message, reply["evalue"]!.GetValue<string>());
        Assert.DoesNotContain("background", reply["evalue"]!.GetValue<string>());
        var after = k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "before + 1" }));
        Assert.Equal("8", after.Single(a => a.Message.Type == "execute_result").Message.Content["data"]!["text/plain"]!.GetValue<string>());
    }

    [Fact]
    public void IsCompleteUsesTheParser()
    {
        string Status(string code) =>
            k.Reply(k.Answers(k.Send(Channel.Shell, "is_complete_request", new JsonObject { ["code"] = code })))["status"]!.GetValue<string>();
        Assert.Equal("complete", Status("var a = 1;"));
        Assert.Equal("complete", Status("1 + 2"));
        Assert.Equal("incomplete", Status("for (int i = 0; i < 3; i++) {"));
        Assert.Equal("incomplete", Status("var s = \"\"\"\nopen raw string"));
        Assert.Equal("invalid", Status("int x = ;"));
    }

    [Fact]
    public void CompletionSeesMembersAndEarlierCellsVariables()
    {
        k.Answers(k.Send(Channel.Shell, "execute_request", new JsonObject { ["code"] = "var learningRate = 0.5;" }));
        JsonObject Complete(string code) => k.Reply(k.Answers(k.Send(Channel.Shell, "complete_request", new JsonObject { ["code"] = code, ["cursor_pos"] = code.Length })));
        var members = Complete("Console.Wri");
        var names = members["matches"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
        Assert.Contains("WriteLine", names);
        Assert.Contains("Write", names);
        Assert.DoesNotContain("ReadLine", names);
        Assert.Equal(8, members["cursor_start"]!.GetValue<int>());
        Assert.Equal(11, members["cursor_end"]!.GetValue<int>());

        var variables = Complete("var y = learn").AsObject()["matches"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
        Assert.Contains("learningRate", variables);
        var instance = Complete("\"abc\".ToUpp")["matches"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
        Assert.Contains("ToUpper", instance);
        Assert.Contains("ToUpperInvariant", instance);
        var linq = Complete("new[] { 1, 2 }.Selec")["matches"]!.AsArray().Select(m => m!.GetValue<string>()).ToList();
        Assert.Contains("Select", linq); // extension methods from the default imports
    }

    [Fact]
    public void InspectShowsTheSymbol()
    {
        var reply = k.Reply(k.Answers(k.Send(Channel.Shell, "inspect_request", new JsonObject { ["code"] = "Math.Sqrt(2)", ["cursor_pos"] = 7, ["detail_level"] = 0 })));
        Assert.True(reply["found"]!.GetValue<bool>());
        Assert.Contains("Math.Sqrt(double)", reply["data"]!["text/plain"]!.GetValue<string>());
    }

    [Fact]
    public void CommInfoIsEmpty()
    {
        var reply = k.Reply(k.Answers(k.Send(Channel.Shell, "comm_info_request", new JsonObject())));
        Assert.Empty(reply["comms"]!.AsObject());
    }
}

public class KernelShutdownTests
{
    [Fact]
    public void ShutdownOnControlRepliesThenEndsTheKernel()
    {
        using var k = new KernelFixture();
        var answers = k.Answers(k.Send(Channel.Control, "shutdown_request", new JsonObject { ["restart"] = false }));
        Assert.Equal(Channel.Control, answers.Single(a => a.Message.Type == "shutdown_reply" && a.Channel != Channel.IOPub).Channel);
        k.Dispose();
        Assert.Equal(0, k.ExitCode);
    }
}
