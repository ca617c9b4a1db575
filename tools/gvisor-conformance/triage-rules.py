#!/usr/bin/env python3
# Classifies host-pass/Nimbus-not-pass cases (gv-fails.py output on stdin) into root-cause groups.
import sys, re, collections
def has(p, s): return re.search(p, s) is not None
RULES = [
 ('hang-splice', lambda t,c,h,b: h=='notrun' and has(r'Splice(From|To)Pipe', c)),
 ('hang-cork', lambda t,c,h,b: h=='notrun' and 'WithCorkOption' in c),
 ('hang-zero-write', lambda t,c,h,b: h in ('notrun', 'lost') and 'ZeroWriteAllowed' in c),
 ('notrun-connect-any', lambda t,c,h,b: h=='notrun' and has(r'_ConnectV4(Mapped)?Any$', c)),
 ('notrun-connect-v6', lambda t,c,h,b: h=='notrun' and has(r'_ConnectV6(Any|Loopback)$', c)),
 ('capget', lambda t,c,h,b: 'capget' in b),
 ('fork', lambda t,c,h,b: has(r'one process per VM|fork failed|errno=38.*(fork|clone)', b)),
 ('ipv6', lambda t,c,h,b: has(r'errno=99 Cannot assign|errno=101 Network is unreachable', b)
          or (t == 'tcp_socket' and c.endswith('/1') and 'GetPort(addr).value()) != (0)' in b)
          or has(r'DualStackAfMismatchTest|DualStackV6Any(Close)?(And)?BindAgain', c)),
 ('inet6-sockaddr-in', lambda t,c,h,b: has(r'ConnectInet4Sockaddr|DualStackSocketTest.AddressOperations/V4', c)),
 ('ip-options', lambda t,c,h,b: 'RecvErrorConnRefusedOtherAFSockOpt' in c or has(r'sockopt\([^,]+, (0|IPPROTO_IP|opt_level|level|t\.level), ', b) and not has(r'IPPROTO_TCP|, 6, ', b)),
 ('tcp-options', lambda t,c,h,b: has(r'IPPROTO_TCP, (8|10)\b|, 6, (8|10|36)\b|kTCPSynCnt|TCPQuickAck|TCPLinger|IntegerOptGetsockoptSmallBuffer', b+c)),
 ('so-filter-timestamp', lambda t,c,h,b: has(r'sockopt\([^,]+, 1, (26|27|29)\b|0x8906|SoTimestamp|SocketDetachFilter', b+c)),
 ('so-no-check', lambda t,c,h,b: has(r'SOL_SOCKET, 11,|SoNoCheck', b+c)),
 ('vector-io', lambda t,c,h,b: has(r'WritevReadv|ZerolengthWrite', c)),
 ('tcp-listen-shutdown-wr', lambda t,c,h,b: 'TCPListenShutdown' in c),
 ('tcp-no-rst-on-data-after-close', lambda t,c,h,b: 'TCPResetAfterClose' in c),
 ('tcp-failed-connect-state', lambda t,c,h,b: has(r'CleanupOnConnectionRefused|NonBlockingConnectNoListener|NonBlockingConnectRemoteClose', c)),
 ('tcp-shutdown-connecting', lambda t,c,h,b: has(r'Shutdown(Read|Write|ReadWrite)ConnectingSocket', c)),
 ('tcp-timewait-state', lambda t,c,h,b: 'ShutdownWriteInTimeWait' in c),
 ('tcp-recvfrom-address', lambda t,c,h,b: 'SenderAddressIgnored' in c),
 ('tcp-waitall-timeout', lambda t,c,h,b: 'RecvTimeoutWaitAll' in c),
 ('udp-connect-port0', lambda t,c,h,b: has(r'ConnectAnyZero|DisconnectAfterConnectAny|ConnectToZeroPortConnected', c)),
 ('udp-read-shutdown', lambda t,c,h,b: has(r'UdpSocketTest.ReadShutdown', c)),
 ('udp-icmp-error-send', lambda t,c,h,b: 'ConnectAndSendNoReceiver' in c),
 ('unix-null-control', lambda t,c,h,b: 'NullControlMsgCtrunc' in c),
 ('unix-creds-without-passcred', lambda t,c,h,b: has(r'FDPassBeforeSoPassCred|SendNullCredsBeforeSoPassCredRecvEnd|WriteBeforeSoPassCredRecvEnd|CoalescedCreds1|NonCoalescedDifferingCreds', c)),
 ('unix-inherit-passcred', lambda t,c,h,b: 'InheritPasscred' in c),
 ('netdevice-ioctl', lambda t,c,h,b: 'NetdeviceIoctlsSucceed' in c),
 ('procfs-socket-reopen', lambda t,c,h,b: 'SocketReopenFromProcfs' in c),
 ('unix-peercred', lambda t,c,h,b: 'UnixSocketPeerCredTest' in c),
 ('procfs-port-range', lambda t,c,h,b: 'ip_local_port_range' in b),
 ('unix-stream-creds-coalesce', lambda t,c,h,b: 'CredsNotCoalesced' in c),
 ('skip-sndbuf-cap', lambda t,c,h,b: h=='skip' and 'SO_SNDBUF' in b),
 ('tcp-timewait-reuseaddr', lambda t,c,h,b: 'TimeWaitReuseTest' in c and 'errno=98' in b),
 ('raw-socket', lambda t,c,h,b: 'SOCK_RAW' in b),
 ('udp-sendto-any', lambda t,c,h,b: 'SendToAddressOtherThanConnected' in c),
]
rows = [l.rstrip('\n').split('\t') for l in sys.stdin if l.strip()]
groups = collections.OrderedDict()
for r in rows:
    t, c, h, b = (r + ['', '', '', ''])[:4]
    b = b.replace('../../shared/conformance/gvisor/src/test/syscalls/linux/', '')
    g = None
    for name, f in RULES:
        if f(t, c, h, b):
            g = name; break
    if g is None:
        m = re.match(r'(\S+:\d+)', b)
        g = 'other ' + (m.group(1) if m else h)
    groups.setdefault(g, []).append((t, c, h, b))
mode = sys.argv[1] if len(sys.argv) > 1 else 'summary'
for g, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
    tests = sorted(set(i[0] for i in items))
    print('%d\t%s\t%s\t%s' % (len(items), g, ','.join(tests), ' | '.join('%s:%s' % (i[0], i[1]) for i in items[:3])))
    if mode == 'detail':
        for i in items[:2]:
            print('\t\t%s %s: %s' % (i[2], i[1], i[3][:500]))
