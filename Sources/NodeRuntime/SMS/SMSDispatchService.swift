import CRMDomain
import Logging
import ServiceLifecycle

/// Sends queued SMS through the node's gateway every few seconds, and queues the day's birthday
/// greetings once a day when a `birthday` template exists. Runs on the node that owns the
/// gateway (central), so every message goes out once.
package struct SMSDispatchService: Service {
    package let crm: CRM
    package let gateway: any SMSGateway
    package var interval: Duration = .seconds(5)
    package let logger: Logger

    package func run() async throws {
        try await runUntilShutdown { try await loop() }
    }

    private func loop() async throws {
        var greetedDay: String?
        while !Task.isCancelled {
            let crm = self.crm, gateway = self.gateway
            do {
                let today = crm.today()
                if greetedDay != today {
                    let hasTemplate = try await crm.sms.templates().contains { $0.id == "birthday" }
                    if hasTemplate {
                        let queued = try await crm.sms.queueBirthdayGreetings(.system, day: today, templateId: "birthday")
                        logger.info("birthday greetings queued", metadata: ["sms.count": "\(queued)"])
                    }
                    greetedDay = today
                }
                let report = try await crm.sms.dispatch(gateway: gateway)
                if report.sent + report.failed + report.cancelledOptedOut + report.retried > 0 {
                    logger.info(
                        "sms dispatched",
                        metadata: [
                            "sms.sent": "\(report.sent)", "sms.failed": "\(report.failed)",
                            "sms.deferred": "\(report.deferredByDailyCap)", "sms.optedOut": "\(report.cancelledOptedOut)",
                            "sms.retried": "\(report.retried)",
                        ])
                }
            } catch {
                logger.warning("sms dispatch failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try await Task.sleep(for: interval)
        }
    }

    package init(crm: CRM, gateway: any SMSGateway, interval: Duration = .seconds(5), logger: Logger) {
        self.crm = crm
        self.gateway = gateway
        self.interval = interval
        self.logger = logger
    }
}
