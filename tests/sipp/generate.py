#!/usr/bin/env python3
"""Writes the SIPp scenarios of this folder (run it here: python3 generate.py). The XML files are committed;
this keeps their shared INVITE/ACK/BYE text in one place."""
import os
HEAD='<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
def invite(maxfwd="70", cseq="1", sdp_extra="", port="[media_port]", branch="z9hG4bK-[pid]-[call_number]-inv", to="To: <sip:[service]@[remote_ip]:[remote_port]>", guid=True, direction=""):
    g = "      Cisco-Guid: 2340597125-4034597340-2149908499-422385232\n      App-Info: <[local_ip]:[$ivr_port]:8443>\n" if guid else ""
    return f"""    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}
      From: "cvp" <sip:4085550123@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      {to}
      Call-ID: [call_id]
      CSeq: {cseq} INVITE
      Contact: <sip:cvp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: {maxfwd}
{g}      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=cvp 53655765 {cseq} IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio {port} RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
{direction}
    ]]>"""
def ack(cseq="1", branch="[branch]"):
    return f"""    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}
      From: "cvp" <sip:4085550123@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: {cseq} ACK
      Contact: <sip:cvp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>"""
def bye(cseq="3"):
    return f"""  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "cvp" <sip:4085550123@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: {cseq} BYE
      Contact: <sip:cvp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
"""
INIT = """  <Global variables="ivr_port">
    <action><assignstr assign_to="ivr_port" value="8000"/></action>
  </Global>
"""
def answered(check_body=True):
    checks = """    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP 0 101" search_in="body" check_it="true" assign_to="m"/>
      <ereg regexp="a=sendrecv" search_in="body" check_it="true" assign_to="d"/>
    </action>
""" if check_body else ""
    return f"""  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true">
{checks}  </recv>
"""
files = {}
files["basic_call.xml"] = f"""{HEAD}<!-- The call server places a call and hangs up: INVITE, 100 Trying, 200 OK with an SDP answer in PCMU with the
     offerer's telephone-event payload type, ACK, (pause -d ms), BYE from the caller, 200 OK. -->
<scenario name="vxgate basic call">
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <pause/>
{bye()}  <Reference variables="m,d"/>
</scenario>
"""
# RFC 3264 §6 / RFC 3261 §20.43: a 488 for an offer with no common format carries Warning 305.
WARNING_305 = """  <recv response="488">
    <action>
      <ereg regexp="305 " search_in="hdr" header="Warning:" check_it="true" assign_to="w"/>
    </action>
  </recv>
"""
def warning_ref(code):
    return '  <Reference variables="w"/>\n' if code == "488" else ""
def final_recv(code):
    return WARNING_305 if code == "488" else f'  <recv response="{code}"/>\n'
for code, what, mf in [("403","untrusted source (toll-fraud protection)","70"),("404","no dial-peer matches","70"),("488","no common codec","70"),("503","max-conn reached","70"),("483","Max-Forwards 0","0")]:
    inv = invite(maxfwd=mf)
    if code == "488":
        inv = inv.replace("m=audio [media_port] RTP/AVP 0 101","m=audio [media_port] RTP/AVP 18").replace("      a=rtpmap:0 PCMU/8000\n","      a=rtpmap:18 G729/8000\n").replace("      a=rtpmap:101 telephone-event/8000\n      a=fmtp:101 0-15\n","")
    files[f"reject_{code}.xml"] = f"""{HEAD}<!-- An INVITE the gateway must reject with {code}: {what}. The ACK of a non-2xx final response shares the
     INVITE's branch (RFC 3261 17.1.1.3). -->
<scenario name="vxgate reject {code}">
  <send retrans="500">
{inv}
  </send>
  <recv response="100" optional="true"/>
{final_recv(code)}  <send>
{ack(branch="z9hG4bK-[pid]-[call_number]-inv")}
  </send>
{warning_ref(code)}</scenario>
"""
files["cancel.xml"] = f"""{HEAD}<!-- CANCEL before answer: INVITE, 100 Trying, CANCEL (same branch as the INVITE, RFC 3261 9.1), 200 OK to the
     CANCEL, 487 Request Terminated to the INVITE, ACK. Needs a dial-peer that does not answer at once
     (answer_delay_ms). -->
<scenario name="vxgate cancel before answer">
  <send retrans="500">
{invite()}
  </send>
  <recv response="100"/>
  <recv response="180"/>
  <send retrans="500">
    <![CDATA[
      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-inv
      From: "cvp" <sip:4085550123@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
{ack(branch="z9hG4bK-[pid]-[call_number]-inv")}
  </send>
</scenario>
"""
reinv = invite(cseq="2", port="[media_port+2]", branch="[branch]", to="[last_To:]", guid=False, direction="      a=sendonly\n")
files["reinvite.xml"] = f"""{HEAD}<!-- re-INVITE: after the call is up the call server moves the media (new port) and puts it on hold
     (a=sendonly); the gateway answers recvonly on the same dialog, the call goes on, then the caller hangs up. -->
<scenario name="vxgate re-invite">
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <send retrans="500">
{reinv}
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="a=recvonly" search_in="body" check_it="true" assign_to="d2"/>
    </action>
  </recv>
  <send>
{ack(cseq="2")}
  </send>
  <pause milliseconds="300"/>
{bye()}  <Reference variables="m,d,d2"/>
</scenario>
"""
move = invite(cseq="2", port="[media_port+2]", branch="[branch]", to="[last_To:]", guid=False, direction="      a=sendrecv\n")
files["reinvite_after_ack.xml"] = f"""{HEAD}<!-- A re-INVITE sent in the same instant as the ACK of the initial 2xx, then the BYE right after the re-INVITE's
     ACK: no pause anywhere. The UAC may do this (RFC 3261 14.1: no INVITE transaction is in progress once it sent the
     ACK); the gateway must answer the re-INVITE after it processed the ACK (regression test of the re-INVITE that
     overtook the ACK and was never answered, src/sip/ack_gate.rs). Run with many calls at a rate. -->
<scenario name="vxgate re-invite right after ack">
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <send retrans="500">
{move}
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="a=sendrecv" search_in="body" check_it="true" assign_to="d2"/>
    </action>
  </recv>
  <send>
{ack(cseq="2")}
  </send>
{bye()}  <Reference variables="m,d,d2"/>
</scenario>
"""
early = invite(cseq="2", branch="z9hG4bK-[pid]-[call_number]-early", to="[last_To:]", guid=False)
files["reinvite_early.xml"] = f"""{HEAD}<!-- A re-INVITE in the early dialog, before the gateway sent its final response to the INVITE (it answers after
     answer_delay_ms): RFC 3261 14.2, 500 Server Internal Error with a Retry-After of 0 to 10 seconds. The ACK of
     that 500 shares the re-INVITE's branch (17.1.1.3). The initial INVITE is then answered and the call goes on. -->
<scenario name="vxgate re-invite before the final response">
  <send retrans="500">
{invite()}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <send retrans="500">
{early}
  </send>
  <recv response="500">
    <action>
      <ereg regexp="^([0-9]|10)$" search_in="hdr" header="Retry-After: " check_it="true" assign_to="ra"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-early
      From: "cvp" <sip:4085550123@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <send>
{ack()}
  </send>
{bye()}  <Reference variables="ra"/>
</scenario>
"""
files["options.xml"] = f"""{HEAD}<!-- OPTIONS ping (a call server or proxy checking the gateway): 200 OK with Allow and Accept. -->
<scenario name="vxgate options">
  <send retrans="500">
    <![CDATA[
      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:ping@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200">
    <action>
      <ereg regexp="INVITE" search_in="hdr" header="Allow:" check_it="true" assign_to="a"/>
      <ereg regexp="application/sdp" search_in="hdr" header="Accept:" check_it="true" assign_to="b"/>
    </action>
  </recv>
  <Reference variables="a,b"/>
</scenario>
"""
for name, body in files.items():
    body = body.replace("[$ivr_port]", "8000")
    open(name, "w").write(body)
print(sorted(files))

ivr_files = {}
def dtmf(d):
    return f"""  <nop>
    <action>
      <exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_{d}.pcap"/>
    </action>
  </nop>
  <pause milliseconds="400"/>
"""
ivr_files["ivr_dtmf.xml"] = f"""{HEAD}<!-- The CVP IVR leg: the call server sends the caller to the gateway (DNIS = label + correlation id, App-Info =
     the IVR service, -set ivr_port N), the gateway's bootstrap fetches the first page, the caller keys 2345 as
     RFC 2833/4733 telephone-events (SIPp's shipped captures, payload type 101: one stream, so the digits go in
     capture order) and the call server hangs up after
     the submit. The digits must reach the IVR service. -->
<scenario name="vxgate ivr leg with rtp dtmf">
  <Global variables="ivr_port"/>
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <pause milliseconds="1500"/>
{dtmf(2)}{dtmf(3)}{dtmf(4)}{dtmf(5)}  <pause milliseconds="2500"/>
{bye()}  <Reference variables="m,d,ivr_port"/>
</scenario>
"""
ivr_files["ivr_expect_bye38.xml"] = f"""{HEAD}<!-- An IVR leg the gateway must end itself: after the answer the call server waits for the gateway's BYE and
     checks its Reason header for Q.850 cause 38 (after a fetch failure or a fetch slower than the fetch
     timeout: recovery, then handoff). -->
<scenario name="vxgate ivr leg ended by the gateway">
  <Global variables="ivr_port"/>
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <recv request="BYE" timeout="20000">
    <action>
      <ereg regexp="Q\\.850;cause=38" search_in="hdr" header="Reason:" check_it="true" assign_to="r"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <Reference variables="m,d,r,ivr_port"/>
</scenario>
"""
ivr_files["ivr_bye_midfetch.xml"] = f"""{HEAD}<!-- BYE mid-fetch: the call server hangs up while the gateway waits for the IVR service (which stalls). -->
<scenario name="vxgate bye mid-fetch">
  <Global variables="ivr_port"/>
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <pause milliseconds="1000"/>
{bye()}  <Reference variables="m,d,ivr_port"/>
</scenario>
"""
for name, body in ivr_files.items():
    open(name, "w").write(body)
print(sorted(ivr_files))

ivr_call = f"""{HEAD}<!-- An IVR leg held for -d ms (the caller listens, keys nothing), then the call server hangs up. For load:
     -m 200 -l 200 -d 4000. -set ivr_port N names the IVR service port in App-Info. -->
<scenario name="vxgate ivr call held">
  <Global variables="ivr_port"/>
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <pause/>
{bye()}  <Reference variables="m,d,ivr_port"/>
</scenario>
"""
open("ivr_call.xml", "w").write(ivr_call)

open("options_503.xml", "w").write(files["options.xml"].replace('<recv response="200">', '<recv response="503">').replace("200 OK with Allow and Accept.", "503 while the gateway drains, still with Allow and Accept.").replace('name="vxgate options"', 'name="vxgate options draining"'))

inv_no_sdp = invite().split("      Content-Type: application/sdp")[0] + "      Content-Length: 0\n\n    ]]>"
ack_sdp = ack().replace("      Content-Length: 0\n", """      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=cvp 53655765 2 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
""")
open("delayed_offer.xml", "w").write(f"""{HEAD}<!-- Delayed offer (RFC 3261 13.2.1): an INVITE without SDP; the gateway offers in its 200 OK (dial-peer codec and
     telephone-event) and the call server answers in the ACK. -->
<scenario name="vxgate delayed offer">
  <send retrans="500">
{inv_no_sdp}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP 0 101" search_in="body" check_it="true" assign_to="m"/>
    </action>
  </recv>
  <send>
{ack_sdp}
  </send>
  <pause/>
{bye()}  <Reference variables="m"/>
</scenario>
""".replace("[$ivr_port]", "8000"))

open("ack_lost.xml", "w").write(f"""{HEAD}<!-- The ACK is late (1.6 s): the gateway's transaction layer retransmits the 200 OK (Timer G, RFC 3261 13.3.1.4:
     T1, 2*T1, ...) until it arrives; the call then goes on normally. Run with -trace_msg to count the 200s. -->
<scenario name="vxgate 200 retransmitted until ack">
  <send retrans="500">
{invite()}
  </send>
{answered()}  <pause milliseconds="1600"/>
  <send>
{ack()}
  </send>
  <pause milliseconds="300"/>
{bye()}  <Reference variables="m,d"/>
</scenario>
""".replace("[$ivr_port]", "8000"))

reinv_bad = invite(cseq="2", branch="z9hG4bK-[pid]-[call_number]-reinv", to="[last_To:]", guid=False).replace("m=audio [media_port] RTP/AVP 0 101","m=audio [media_port] RTP/AVP 18").replace("      a=rtpmap:0 PCMU/8000\n","      a=rtpmap:18 G729/8000\n").replace("      a=rtpmap:101 telephone-event/8000\n      a=fmtp:101 0-15\n","")
open("reinvite_488.xml", "w").write(f"""{HEAD}<!-- A re-INVITE offering only G.729 gets 488; the call goes on with the session it had (RFC 3261 14.2), and the
     caller hangs up normally. -->
<scenario name="vxgate re-invite 488">
  <send retrans="500">
{invite()}
  </send>
{answered()}  <send>
{ack()}
  </send>
  <pause milliseconds="300"/>
  <send retrans="500">
{reinv_bad}
  </send>
  <recv response="100" optional="true"/>
{WARNING_305}  <send>
{ack(cseq="2", branch="z9hG4bK-[pid]-[call_number]-reinv")}
  </send>
  <pause milliseconds="300"/>
{bye()}  <Reference variables="m,d,w"/>
</scenario>
""".replace("[$ivr_port]", "8000"))
