import CRMDomain
import Foundation
import Hummingbird
import NIOCore
import NodeRuntime

/// Statistics, CSV import and export.
package enum StatisticsRoutes {
    package static func add(to api: RouterGroup<APIRequestContext>, crm: CRM) {
        api.get("stats/satisfaction") { request, context in
            let caller = try context.requireCaller()
            let range = try request.dayRange()
            let ward = request.query("wardId"), department = request.query("departmentId")
            return try await JSONResponse.make(try crm.statistics.satisfaction(caller, range: range, wardId: ward, departmentId: department))
        }
        api.get("stats/nps") { request, context in
            let caller = try context.requireCaller()
            let range = try request.dayRange()
            let periodName = request.query("period") ?? "month"
            guard let period = StatisticsPeriod(rawValue: periodName) else { throw CRMError(.invalid, "period must be year, quarter, month or range") }
            let ward = request.query("wardId")
            return try await JSONResponse.make(try crm.statistics.nps(caller, range: range, period: period, wardId: ward))
        }
        api.get("stats/opinions-by-department") { request, context in
            let caller = try context.requireCaller()
            let range = try request.dayRange()
            return try await JSONResponse.make(try crm.statistics.opinionsByDepartment(caller, range: range))
        }
        api.get("stats/opinions") { request, context in
            let caller = try context.requireCaller()
            let range = try request.dayRange()
            let page = try request.pageRequest()
            guard let kind = OpinionInput.Kind(rawValue: try request.requireQuery("kind")) else {
                throw CRMError(.invalid, "kind must be important, praise or suggestion")
            }
            return try await JSONResponse.make(
                try crm.statistics.opinions(
                    caller, kind: kind, range: range, page: page, departmentId: request.query("departmentId"), staffId: request.query("staffId")))
        }
        api.get("stats/opinions-by-staff") { request, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.statistics.opinionsByStaff(caller, range: try request.dayRange()))
        }
        api.get("stats/results") { request, context in
            let caller = try context.requireCaller()
            let range = try request.dayRange()
            guard let grouping = ResultGrouping(rawValue: try request.requireQuery("groupBy")) else {
                throw CRMError(.invalid, "groupBy must be doctor, disease or department")
            }
            return try await JSONResponse.make(try crm.statistics.results(caller, range: range, by: grouping))
        }
        api.get("stats/workload") { request, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.statistics.workload(caller, range: try request.dayRange()))
        }
        api.get("stats/coverage-by-department") { request, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.statistics.coverageByDepartment(caller, range: try request.dayRange()))
        }
        api.post("opinions/:id/grade") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(GradeBody.self, context: context)
            try await crm.surveys.gradeOpinion(caller, id: try context.parameters.id(), kind: body.kind)
            return try JSONResponse.make(Done())
        }
        api.post("opinions/:id/escalate") { request, context in
            let caller = try context.requireCaller()
            let body = try await request.json(EscalateBody.self, context: context)
            try await crm.surveys.escalateOpinion(caller, id: try context.parameters.id(), note: body.note)
            return try JSONResponse.make(Done())
        }
        api.get("stats/coverage") { request, context in
            let caller = try context.requireCaller()
            let range = try request.dayRange()
            let ward = request.query("wardId")
            return try await JSONResponse.make(try crm.statistics.coverage(caller, range: range, wardId: ward))
        }
        api.get("stats/complaint-ageing") { _, context in
            let caller = try context.requireCaller()
            return try await JSONResponse.make(try crm.statistics.complaintAgeing(caller))
        }
        api.post("import/:dataset") { request, context in
            let caller = try context.requireCaller()
            try caller.require(.manager, .admin)  // before buffering up to 32 MiB
            let dataset = try Self.dataset(context)
            var body = try await request.body.collect(upTo: 32 << 20)
            let (text, _) = try CSVText.decode(body.readBytes(length: body.readableBytes) ?? [])
            let preview = try request.query("preview").map { text throws(CRMError) in
                guard let flag = Bool(text) else { throw CRMError(.invalid, "preview must be true or false") }
                return flag
            }
            let report = try await crm.patients.importCSV(caller, dataset, text: text, preview: preview ?? false)
            return try JSONResponse.make(report, status: report.applied || (preview == true && report.rejected.isEmpty) ? .ok : .unprocessableContent)
        }
        api.get("export/:dataset") { _, context in
            let caller = try context.requireCaller()
            let name = try context.parameters.id("dataset")
            guard let dataset = ExportDataset(rawValue: name) else {
                throw CRMError(.notFound, "datasets: \(ExportDataset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return WebPage.csvDownload(try await crm.patients.exportCSV(caller, dataset), filename: "\(dataset.rawValue).csv")
        }
        api.get("export/surveys/:id") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.id()
            return WebPage.csvDownload(try await crm.patients.exportSurvey(caller, templateId: id), filename: "survey-\(HTML.urlComponent(id)).csv")
        }
    }

    package struct GradeBody: Codable { var kind: OpinionInput.Kind }
    package struct EscalateBody: Codable { var note: String }

    package static func dataset(_ context: APIRequestContext) throws -> CSVDataset {
        let name = try context.parameters.id("dataset")
        guard let dataset = CSVDataset(rawValue: name) else { throw CRMError(.notFound, "datasets: patients, encounters, responses") }
        return dataset
    }
}
