import CRMDomain
import Logging
import ServiceLifecycle

/// Sends queued SMS through the node's gateway every few seconds, after queuing what the node
/// sends on its own (CRM+SMSGreetings): appointment reminders for tomorrow (every round, so a
/// late booking or a cancellation is seen), SMS follow-up rules' messages as they fall due, the
/// day's birthday greetings once, and holiday
/// greetings once on a holiday's first day. Runs on the node that owns the gateway (central), so
/// every message goes out once.
package struct SMSDispatchService: Service {
    package let crm: CRM
    package let gateway: any SMSGateway
    package var interval: Duration = .seconds(5)
    package let logger: Logger

    package func run() async throws {
        try await runUntilShutdown { try await loop() }
    }

    private func loop() async throws {
        var chores = DailyChores()
        while !Task.isCancelled {
            await chores.run(crm: crm, logger: logger)
            do {
                let report = try await crm.sms.dispatch(gateway: gateway)
                NodeCounters.sms(sent: report.sent, failed: report.failed, retried: report.retried, deferred: report.deferredByDailyCap)
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

/// What the SMS node queues by itself, and which of it is done for the day.
struct DailyChores {
    private var birthdaysDone: String?
    private var holidayDone: String?

    /// Runs each chore on its own: one failing (a bad rule, a locked file) stops none of the others.
    mutating func run(crm: CRM, logger: Logger) async {
        let today = crm.today()
        func attempt(_ chore: String, _ body: () async throws -> Void) async {
            do { try await body() } catch { logger.warning("sms chore failed", metadata: ["sms.chore": "\(chore)", "error.type": "\(type(of: error))"]) }
        }
        await attempt("reminders") {
            let reminders = try await crm.sms.queueAppointmentReminders(day: today)
            if reminders.queued + reminders.cancelled > 0 {
                logger.info("appointment reminders", metadata: ["sms.queued": "\(reminders.queued)", "sms.cancelled": "\(reminders.cancelled)"])
            }
        }
        await attempt("rules") {
            let ruleMessages = try await crm.sms.sendRuleMessages(day: today)
            if ruleMessages > 0 { logger.info("follow-up rule messages queued", metadata: ["sms.count": "\(ruleMessages)"]) }
        }
        if birthdaysDone != today {
            await attempt("birthdays") {
                if try await crm.sms.templates().contains(where: { $0.id == CRM.SMS.birthdayTemplate }) {
                    let queued = try await crm.sms.queueBirthdayGreetings(.system, day: today, templateId: CRM.SMS.birthdayTemplate)
                    logger.info("birthday greetings queued", metadata: ["sms.count": "\(queued)"])
                }
            }
            birthdaysDone = today
        }
        // Asked every round until it runs: an admin may mark today a holiday, or add the template, during the day.
        if holidayDone != today {
            var ran = false
            await attempt("holidays") {
                if let queued = try await crm.sms.queueHolidayGreetings(.system, day: today) {
                    logger.info("holiday greetings queued", metadata: ["sms.count": "\(queued)"])
                    ran = true
                }
            }
            if ran { holidayDone = today }
        }
    }
}
