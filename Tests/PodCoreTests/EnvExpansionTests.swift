import PodCore
import Testing

@testable import PodKit

/// `$(VAR)` expansion as kubelet does it (the cases of Kubernetes' expansion_test.go).
@Suite("Env expansion")
struct EnvExpansionTests {
    static let vars = ["VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""]
    static func expand(_ s: String) -> String { EnvExpansion.expand(s) { vars[$0] } }

    @Test(arguments: [
        ("$(VAR_A)", "A"), ("___$(VAR_B)___", "___B___"), ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("$(VAR_A)-1", "A-1"), ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"), ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
        ("$$(VAR_B)", "$(VAR_B)"), ("f000-$$VAR_A", "f000-$VAR_A"), ("foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
        ("$(VAR_REF)", "$(VAR_A)"), ("foo$(VAR_EMPTY)bar", "foobar"), ("$(VAR_DNE)", "$(VAR_DNE)"),
        ("$(VAR_A", "$(VAR_A"), ("$VAR_A", "$VAR_A"), ("$(", "$("), ("$$", "$"), ("$", "$"), ("echo $$", "echo $"),
        ("$()", "$()"), ("$$$(VAR_A)", "$A"), ("\u{1F600}$(VAR_A)\u{1F600}", "\u{1F600}A\u{1F600}"),
    ])
    func kubernetesCases(input: String, expected: String) {
        #expect(Self.expand(input) == expected)
    }

    @Test func envSeesEarlierVariablesAndArgvSeesAll() {
        let container = ContainerSpec(
            name: "c", command: ["echo", "$(GREETING)", "$(LATER)"], args: ["$(UNSET)", "$$(GREETING)"],
            env: [
                EnvVar(name: "NAME", value: "pod"), EnvVar(name: "GREETING", value: "hi $(NAME) $(LATER)"),
                EnvVar(name: "LATER", value: "x"),
            ])
        let (argv, env) = EnvExpansion.resolve(container)
        #expect(argv == ["echo", "hi pod $(LATER)", "x", "$(UNSET)", "$(GREETING)"])
        #expect(env.map(\.value) == ["pod", "hi pod $(LATER)", "x"])
    }

    @Test func theRuntimeExpandsBeforeStarting() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(
            PodSpec(
                name: "e", restartPolicy: .never,
                containers: [
                    ContainerSpec(name: "c", command: ["sh", "-c", "echo $(MSG) $MSG"], env: [EnvVar(name: "MSG", value: "hello")])
                ]))
        #expect(try pod.wait(phase: .succeeded) == .satisfied)
        #expect(try pod.logs("c") == "hello hello\n")
    }
}
