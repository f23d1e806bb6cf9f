using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Cli.Kernel;

/// <summary>A message that cannot be accepted (bad signature, missing delimiter, malformed JSON); the message says why.</summary>
public sealed class ProtocolException(string message) : Exception(message);

/// <summary>
/// One Jupyter message (messaging protocol 5.3): the routing identities ZeroMQ's ROUTER adds, the four JSON parts
/// and any binary buffers. On the wire it is <c>identities…, "&lt;IDS|MSG&gt;", signature, header, parent_header,
/// metadata, content, buffers…</c>.
/// </summary>
public sealed record JupyterMessage(
    IReadOnlyList<byte[]> Identities, JsonObject Header, JsonObject ParentHeader, JsonObject Metadata, JsonObject Content)
{
    /// <summary>The protocol version this kernel speaks.</summary>
    public const string ProtocolVersion = "5.3";

    /// <summary>Binary buffers after the content (unused by this kernel, kept when received).</summary>
    public IReadOnlyList<byte[]> Buffers { get; init; } = [];

    /// <summary>The header's msg_type, e.g. execute_request.</summary>
    public string Type => Header["msg_type"] is JsonValue v && v.TryGetValue<string>(out var t) ? t : "";

    /// <summary>
    /// A new message of <paramref name="type"/> answering or caused by <paramref name="parent"/> (null for none):
    /// its header becomes the parent header, its identities the routing of a reply.
    /// </summary>
    public static JupyterMessage Create(string type, JsonObject content, JupyterMessage? parent, string session) => new(
        parent?.Identities ?? [],
        new JsonObject
        {
            ["msg_id"] = Guid.NewGuid().ToString("N"),
            ["session"] = session,
            ["username"] = "mmeureka",
            ["date"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffzzz"),
            ["msg_type"] = type,
            ["version"] = ProtocolVersion,
        },
        parent is null ? new JsonObject() : (JsonObject)parent.Header.DeepClone(),
        new JsonObject(),
        content);
}

/// <summary>
/// Turns messages into ZeroMQ frames and back, signing each with HMAC-SHA256 over the exact bytes of header,
/// parent header, metadata and content (hex digest), and refusing frames whose signature does not match.
/// </summary>
public sealed class MessageCodec(string key)
{
    /// <summary>The frame that separates routing identities from the message.</summary>
    public static readonly byte[] Delimiter = "<IDS|MSG>"u8.ToArray();

    static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = false };
    readonly byte[] keyBytes = Encoding.UTF8.GetBytes(key);

    /// <summary>The frames of <paramref name="message"/>, signed.</summary>
    public List<byte[]> Encode(JupyterMessage message)
    {
        var parts = new[] { message.Header, message.ParentHeader, message.Metadata, message.Content }
            .Select(o => Encoding.UTF8.GetBytes(o.ToJsonString(Compact))).ToArray();
        var frames = new List<byte[]>(message.Identities.Count + 6 + message.Buffers.Count);
        frames.AddRange(message.Identities);
        frames.Add(Delimiter);
        frames.Add(Encoding.ASCII.GetBytes(Sign(parts)));
        frames.AddRange(parts);
        frames.AddRange(message.Buffers);
        return frames;
    }

    /// <summary>
    /// Reads the frames of a received message. Throws <see cref="ProtocolException"/> when the delimiter or a part is
    /// missing, the signature does not match (with a key set), or a part is not a JSON object.
    /// </summary>
    public JupyterMessage Decode(IReadOnlyList<byte[]> frames)
    {
        int delimiter = -1;
        for (int i = 0; i < frames.Count; i++)
            if (frames[i].AsSpan().SequenceEqual(Delimiter)) { delimiter = i; break; }
        if (delimiter < 0) throw new ProtocolException("no <IDS|MSG> delimiter frame");
        if (frames.Count < delimiter + 6) throw new ProtocolException($"{frames.Count - delimiter - 1} frames after the delimiter, need 5 (signature, header, parent_header, metadata, content)");
        var parts = frames.Skip(delimiter + 2).Take(4).ToArray();
        if (keyBytes.Length > 0)
        {
            var expected = Encoding.ASCII.GetBytes(Sign(parts));
            if (!CryptographicOperations.FixedTimeEquals(expected, frames[delimiter + 1]))
                throw new ProtocolException("signature does not match (wrong key or tampered message)");
        }
        JsonObject Part(int i, string name)
        {
            try { return JsonNode.Parse(parts[i]) as JsonObject ?? throw new ProtocolException($"{name} is not a JSON object"); }
            catch (JsonException e) { throw new ProtocolException($"{name} is not valid JSON: {e.Message}"); }
        }
        return new JupyterMessage(frames.Take(delimiter).ToArray(), Part(0, "header"), Part(1, "parent_header"), Part(2, "metadata"), Part(3, "content"))
        {
            Buffers = frames.Skip(delimiter + 6).ToArray(),
        };
    }

    /// <summary>Lower-case hex HMAC-SHA256 of the parts in order; "" when no key is set.</summary>
    public string Sign(IReadOnlyList<byte[]> parts)
    {
        if (keyBytes.Length == 0) return "";
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, keyBytes);
        foreach (var part in parts) hmac.AppendData(part);
        return Convert.ToHexStringLower(hmac.GetHashAndReset());
    }
}
