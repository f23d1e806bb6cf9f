using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Cli.Kernel;

/// <summary>
/// A Jupyter connection file: where the five sockets bind and the key that signs messages. Jupyter writes it and
/// starts the kernel with its path (the kernelspec's <c>{connection_file}</c>).
/// </summary>
public sealed record ConnectionInfo
{
    /// <summary>"tcp" (the only transport supported: NetMQ has no Unix-socket ipc).</summary>
    public string Transport { get; init; } = "tcp";

    /// <summary>Address to bind, e.g. 127.0.0.1.</summary>
    public string Ip { get; init; } = "127.0.0.1";

    /// <summary>Ports of the shell, control, stdin, iopub and heartbeat sockets.</summary>
    public int ShellPort { get; init; }

    /// <inheritdoc cref="ShellPort"/>
    public int ControlPort { get; init; }

    /// <inheritdoc cref="ShellPort"/>
    public int StdinPort { get; init; }

    /// <inheritdoc cref="ShellPort"/>
    public int IopubPort { get; init; }

    /// <inheritdoc cref="ShellPort"/>
    public int HeartbeatPort { get; init; }

    /// <summary>HMAC key; empty turns signing off (Jupyter's rule).</summary>
    public string Key { get; init; } = "";

    /// <summary>Only "hmac-sha256" is supported.</summary>
    public string SignatureScheme { get; init; } = "hmac-sha256";

    /// <summary>The endpoint of a port, e.g. tcp://127.0.0.1:5555.</summary>
    public string Endpoint(int port) => $"{Transport}://{Ip}:{port}";

    /// <summary>Reads a connection file; a missing or malformed file throws an error naming the file and field.</summary>
    public static ConnectionInfo Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: connection file not found");
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FormatException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new FormatException($"{path}: not valid JSON: {e.Message}"); }

        int Port(string field) => o[field] is JsonValue v && v.TryGetValue<int>(out var p) && p is > 0 and < 65536
            ? p : throw new FormatException($"{path}: field '{field}' must be a port number in 1..65535");
        string Text(string field, string fallback) => o[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : fallback;

        var info = new ConnectionInfo
        {
            Transport = Text("transport", "tcp"),
            Ip = Text("ip", "127.0.0.1"),
            ShellPort = Port("shell_port"),
            ControlPort = Port("control_port"),
            StdinPort = Port("stdin_port"),
            IopubPort = Port("iopub_port"),
            HeartbeatPort = Port("hb_port"),
            Key = Text("key", ""),
            SignatureScheme = Text("signature_scheme", "hmac-sha256"),
        };
        if (info.Transport != "tcp")
            throw new FormatException($"{path}: field 'transport' is '{info.Transport}'; this kernel supports only 'tcp'");
        if (info.Key.Length > 0 && info.SignatureScheme != "hmac-sha256")
            throw new FormatException($"{path}: field 'signature_scheme' is '{info.SignatureScheme}'; this kernel supports only 'hmac-sha256'");
        return info;
    }
}
